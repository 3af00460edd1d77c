"""Writes for training runs and model versions.

The database is the training queue. ``run_create`` records a queued run; ``dispatch_queued_runs``
hands queued runs to the ``training`` Celery queue one tenant at a time, never more than a tenant's
cap at once, so a tenant with fifty runs queued cannot starve one with a single run; workers claim a
run with a conditional update (one row changed, or someone else has it); ``sweep_stale_runs`` puts
back runs whose worker stopped sending heartbeats (killed, out of memory, machine gone), to resume
from their last checkpoint, or fails them after ``TRAINING_MAX_ATTEMPTS``.

The modules: ``runs`` (create, cancel, finish), ``queue`` (the dispatcher and the sweeper, system-wide),
``worker`` (a worker's claim, heartbeat and outcome), ``versions`` (deploy and roll back), ``base_models``
(what the data check counts tokens with).
"""

from training.services.base_models import default_token_counter
from training.services.queue import dispatch_queued_runs, sweep_stale_runs
from training.services.runs import HYPERPARAMETER_BOUNDS, run_cancel, run_create, run_finish
from training.services.versions import announce_deployed, model_deploy
from training.services.worker import run_claim, run_fail, run_heartbeat, run_succeed

__all__ = [
    "HYPERPARAMETER_BOUNDS",
    "announce_deployed",
    "default_token_counter",
    "dispatch_queued_runs",
    "model_deploy",
    "run_cancel",
    "run_claim",
    "run_create",
    "run_fail",
    "run_finish",
    "run_heartbeat",
    "run_succeed",
    "sweep_stale_runs",
]
