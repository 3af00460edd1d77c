"""The training core: texts and labels in, a fine-tuned classifier artifact and its evaluation out.

No Django here (an import-linter contract in pyproject.toml holds it): ``training.runner`` passes plain
data, a progress callback and a stop check. The modules:

- ``loop``: ``fine_tune`` and its steps, the training step and the result; resumable from per-epoch checkpoints.
- ``train_config``: ``TrainConfig`` and ``defaults_for`` (hyperparameters by dataset size).
- ``examples``: the data check, the validation split, tokenizing once, the class weights.
- ``state``: the run in memory and its checkpointed state; ``checkpoints``: saving and restoring them.
- ``progress``: the progress events, their throttling, speed and ETA.
- ``modeling``: build a model (full, LoRA, AdaLoRA), precision and device choice, the schedule.
- ``data``: tokenizing, length-sorted batches, the stratified validation split and its one size rule.
- ``evaluation``: per-class precision/recall/F1, confusion matrix, thresholds.
- ``calibration``: temperature scaling on the validation split, its error (ECE), suggested confidence thresholds.
- ``artifacts``: atomic directories, checkpoint files and the saved model directory.
- ``base_models``: the base encoders this installation offers, and their tokenizers.
"""

from training.engine import data
from training.engine.artifacts import ARTIFACT_DIR
from training.engine.examples import TrainingDataError
from training.engine.loop import TrainingCancelled, TrainResult, fine_tune, train_step
from training.engine.modeling import (
    Precision,
    build_model,
    choose_precision,
    linear_schedule,
    load_artifact_model,
    predict_logits,
    seed_everything,
)
from training.engine.progress import Progress
from training.engine.train_config import DEVICES, METHODS, TrainConfig, defaults_for

__all__ = [
    "ARTIFACT_DIR",
    "DEVICES",
    "METHODS",
    "Precision",
    "Progress",
    "TrainConfig",
    "TrainResult",
    "TrainingCancelled",
    "TrainingDataError",
    "build_model",
    "choose_precision",
    "data",
    "defaults_for",
    "fine_tune",
    "linear_schedule",
    "load_artifact_model",
    "predict_logits",
    "seed_everything",
    "train_step",
]
