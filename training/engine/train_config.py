"""What a run is asked to do: its configuration, and the defaults for a dataset of a given size.

``TrainConfig.validate`` runs before anything loads; ``defaults_for`` gives the hyperparameters that the
customer's own settings then override.
"""

from __future__ import annotations

from dataclasses import dataclass

METHODS = ("full", "lora", "adalora")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class TrainConfig:
    method: str = "full"
    epochs: int = 5
    learning_rate: float = 1e-4
    batch_size: int = 32
    max_length: int = 128
    seed: int = 42
    validation_fraction: float | None = None  # None: chosen from the dataset's size
    early_stopping_patience: int = 2  # epochs without a better validation macro-F1; 0 disables
    class_weighting: bool = True
    multi_label: bool = False
    device: str = "auto"
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    head_lr_scale: float = 1.0  # the new classification head's learning rate, as a multiple
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    eval_batch_size: int = 128
    progress_interval_s: float = 2.0

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.max_length < 8:
            raise ValueError("epochs and batch_size must be at least 1, max_length at least 8")
        if not 0 < self.learning_rate < 1:
            raise ValueError("learning_rate must be between 0 and 1")
        if self.validation_fraction is not None and not 0 <= self.validation_fraction < 1:
            raise ValueError("validation_fraction must be in [0, 1)")
        if not 0 < self.head_lr_scale <= 100:
            raise ValueError("head_lr_scale must be in (0, 100]")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError("warmup_ratio must be in [0, 1)")


def defaults_for(n_examples: int, n_labels: int, method: str = "full") -> TrainConfig:
    """Hyperparameters for a dataset of this size, to be overridden by what the customer set.

    On MiniLM, bf16, dynamic padding and length-bucketed batches at lr 1e-4 with linear warm-up and
    decay fit banking77 well in 5 epochs (``bench/train_quality.py`` measures it). Smaller datasets
    get more epochs (too few optimizer steps otherwise) and smaller batches (more steps per epoch).
    LoRA trains only ~1 % of the weights and needs a ~5x higher learning rate to learn at all.
    """
    if n_examples < 300:
        epochs, batch_size, patience = 15, 16, 4
    elif n_examples < 1500:
        epochs, batch_size, patience = 10, 16, 3
    elif n_examples < 5000:
        epochs, batch_size, patience = 7, 32, 2
    else:
        epochs, batch_size, patience = 5, 32, 2
    if method == "full":
        learning_rate = 1e-4
    elif method == "lora":
        learning_rate = 5e-4
    else:
        learning_rate = 1e-3  # AdaLoRA starts at a higher rank and prunes: it tolerates a higher rate
    return TrainConfig(
        method=method,
        epochs=epochs,
        learning_rate=learning_rate,
        # Full fine-tuning: the random head at 10x the encoder's rate (at the encoder's rate for all
        # weights the head fits banking77 too slowly: higher loss early, lower accuracy at the end).
        # LoRA's rate is already high.
        head_lr_scale=10.0 if method == "full" else 1.0,
        batch_size=batch_size,
        early_stopping_patience=patience,
        # Many labels over few rows: each label's weight is estimated from a handful of examples and
        # would be noise; plain loss is safer there.
        class_weighting=n_examples >= 5 * max(n_labels, 1),
    )
