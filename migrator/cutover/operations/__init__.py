"""One module per command, each its steps (check → act → verify) and the ``Operation`` the executor runs.

::

    namespace_cutover.py  migrate cutover: the six steps of one namespace
    rollback.py           migrate rollback: the way back, from the record kept in the cluster
    unbind.py             migrate unbind: the bindings of cut-over namespaces, once nothing matches them
    finalize.py           migrate finalize: the end of AAD Pod Identity on a cluster
"""
