"""Writes for training runs and model versions.

The database is the training queue. ``run_create`` records a queued run; ``dispatch_queued_runs``
hands queued runs to the ``training`` Celery queue one tenant at a time, never more than a tenant's
cap at once, so a tenant with fifty runs queued cannot starve one with a single run; workers claim a
run with a conditional update (one row changed, or someone else has it); ``sweep_stale_runs`` puts
back runs whose worker stopped sending heartbeats (killed, out of memory, machine gone), to resume
from their last checkpoint, or fails them after ``TRAINING_MAX_ATTEMPTS``.

The modules: ``runs`` (create, cancel, finish), ``run_settings`` (what a run may set, checked for the
dashboard's form and the API alike), ``queue`` (the dispatcher and the sweeper, system-wide),
``worker`` (a worker's claim, heartbeat and outcome), ``versions`` (deploy and roll back), ``download``
(a version as one archive), ``base_models`` (what the data check counts tokens with), ``calibration``
(adopt a version's suggested confidence threshold).
"""

from training.services.base_models import default_token_counter
from training.services.calibration import threshold_adopt
from training.services.download import ModelArchive, model_download
from training.services.queue import dispatch_queued_runs, sweep_stale_runs
from training.services.run_settings import HYPERPARAMETER_BOUNDS, SETTINGS, clean_run_settings
from training.services.runs import run_cancel, run_create, run_finish
from training.services.versions import announce_deployed, model_deploy
from training.services.worker import run_claim, run_fail, run_heartbeat, run_succeed

__all__ = [
    "HYPERPARAMETER_BOUNDS",
    "SETTINGS",
    "ModelArchive",
    "announce_deployed",
    "clean_run_settings",
    "default_token_counter",
    "dispatch_queued_runs",
    "model_deploy",
    "model_download",
    "run_cancel",
    "run_claim",
    "run_create",
    "run_fail",
    "run_finish",
    "run_heartbeat",
    "run_succeed",
    "sweep_stale_runs",
    "threshold_adopt",
]
