"""The errors of the cutover family of commands (cutover, rollback, unbind, finalize).

::

    MigratorError (migrator.errors)
    ├── InputError           (2)  bad plan, unknown cluster or namespace, bad arguments
    ├── SourceError          (3)  the cluster or Azure could not be reached (ClusterUnreachable)
    │   └── AzureLoginFailed      no usable Azure login: no credential, expired, or for another tenant
    └── StepError            (1)  a step refused or failed; the message says what to do
        ├── StepRefused           a precondition does not hold: nothing was changed by this step
        ├── StepFailed            the step acted but its postcondition does not hold (a rollout
        │                         timed out, the webhook did not inject...): re-run to continue
        ├── LeaseHeld             another operator holds the namespace's lease
        ├── LeaseLost             the lease was taken over while this run waited
        ├── Unrecorded            the step is done on the cluster but the record write after it was refused
        ├── ConfirmationRefused   no --yes and nobody to ask (stdin is not a terminal), or "no"
        └── Interrupted   (130)   Ctrl-C: stopped between steps, lease released

Exit codes: 0 done, 1 a step refused or failed, 2 bad input, 3 cluster unreachable, 130 interrupted.
"""

from __future__ import annotations

from migrator.errors import ExitCode, MigratorError, SourceError


class StepError(MigratorError):
    """A step refused or failed; the cluster is left as the last verified step left it."""

    exit_code = ExitCode.FINDINGS  # 1


class StepRefused(StepError):
    """A precondition does not hold: the step changed nothing."""


class StepFailed(StepError):
    """The step acted, but its postcondition does not hold."""


class LeaseHeld(StepError):
    """Another run holds the namespace's lease."""


class LeaseLost(StepError):
    """Our lease expired and was taken over while we were waiting."""


class Unrecorded(StepError):
    """The step's change is made and verified; writing its completion to the record was refused."""


class ConfirmationRefused(StepError):
    """The user said no, or there was nobody to ask."""


class Interrupted(StepError):
    """Ctrl-C: stopped between steps."""

    exit_code = ExitCode.INTERRUPTED


class ClusterUnreachable(SourceError):
    """The API server (or ARM for it) did not answer."""


class AzureLoginFailed(ClusterUnreachable):
    """No Azure token could be had: nothing in Azure (nor a cluster reached through ARM) can be reached."""
