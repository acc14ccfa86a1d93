"""Runs the steps of any operation (cutover, rollback, unbind, finalize) against one namespace or cluster.

::

    executor.py   execute(): resume from live state, ask, lease, journal, Ctrl-C; make_run(), Operation, Outcome
    context.py    Run (what a step sees), the Step protocol and StepResult, Options, Interrupts, the one wait
                  loop and the one way to patch a live object
    lease.py      the lock: a coordination.k8s.io Lease per namespace (or per cluster)
    record.py     the record kept in the cluster (ConfigMap wi-migrator-record) and its typed progress
    journal.py    the local audit log (JSON lines)
    console.py    what the operator sees: plain lines or rich live progress
"""
