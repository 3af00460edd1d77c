"""The model side of training: precision and device, building the classifier (full or LoRA/AdaLoRA),
the optimizer and schedule, batched prediction, and loading a saved artifact back.

No Django here. Everything loads from local directories (``HF_HUB_OFFLINE`` is set by the engine).
"""

from __future__ import annotations

import json
import os
import random
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch

from training.engine import data

if TYPE_CHECKING:
    from training.engine.train_config import TrainConfig

# Heads and poolers stay fully trainable under LoRA: they are new (the head) or small, and the
# classification needs them. Names absent from an architecture are simply not matched by peft.
HEAD_MODULES = ["classifier", "pre_classifier", "pooler", "score"]
# The freshly initialised ones (the pooler is pretrained).
NEW_HEAD_PARTS = {"classifier", "pre_classifier", "score"}


@dataclass
class Precision:
    """How the forward pass runs: autocast dtype (None = fp32) and whether gradients need scaling."""

    device: torch.device
    dtype: torch.dtype | None
    scaler: torch.amp.GradScaler | None = None

    def autocast(self) -> AbstractContextManager[Any]:
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    @property
    def name(self) -> str:
        return "fp32" if self.dtype is None else str(self.dtype).removeprefix("torch.")


def cpu_supports_bf16() -> bool:
    """True when oneDNN has bf16 kernels for this CPU (AVX-512-BF16 or AMX): there bf16 is much faster."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def choose_precision(device_setting: str) -> Precision:
    if device_setting == "cuda" or (device_setting == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' was asked for but no CUDA device is available")
        device = torch.device("cuda")
        if torch.cuda.is_bf16_supported():
            return Precision(device, torch.bfloat16)
        return Precision(device, torch.float16, torch.amp.GradScaler("cuda"))
    device = torch.device("cpu")
    return Precision(device, torch.bfloat16 if cpu_supports_bf16() else None)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _lora_targets(model: torch.nn.Module) -> list[str]:
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    for pair in (["query", "value"], ["q_lin", "v_lin"], ["q_proj", "v_proj"]):
        if set(pair) <= names:
            return pair
    raise ValueError("cannot find attention query/value layers for LoRA in this base model")


def build_model(
    base_model_path: Path, label_names: list[str], config: TrainConfig, total_steps: int
) -> torch.nn.Module:
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "some weights are newly initialised" is expected: the head is new
    hf_logging.disable_progress_bar()
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base_model_path),
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={name: i for i, name in enumerate(label_names)},
        problem_type="multi_label_classification" if config.multi_label else "single_label_classification",
    )
    if config.method == "full":
        return model
    from peft import AdaLoraConfig, LoraConfig, TaskType, get_peft_model

    targets = _lora_targets(model)
    peft_config: LoraConfig
    if config.method == "lora":
        peft_config = LoraConfig(
            task_type=TaskType.SEQ_CLS,
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=targets,
            modules_to_save=HEAD_MODULES,
        )
    else:
        total = max(total_steps, 10)
        peft_config = AdaLoraConfig(
            task_type=TaskType.SEQ_CLS,
            init_r=int(config.lora_r * 1.5),
            target_r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=targets,
            modules_to_save=HEAD_MODULES,
            total_step=total,
            tinit=max(1, total // 10),
            tfinal=max(1, total // 5),
            deltaT=max(1, total // 50),
        )
    return get_peft_model(model, peft_config)


def adalora_orthogonal_penalty(model: torch.nn.Module) -> torch.Tensor | None:
    """AdaLoRA's orthogonality regulariser (peft adds it only when it computes the loss; we compute ours)."""
    weight = float(model.peft_config["default"].orth_reg_weight)  # type: ignore[union-attr, index]
    terms = []
    for name, p in model.named_parameters():
        if p.requires_grad and ("lora_A" in name or "lora_B" in name):
            cov = p @ p.T if "lora_A" in name else p.T @ p
            eye = torch.eye(*cov.shape, device=cov.device, dtype=cov.dtype)
            terms.append(torch.linalg.norm(cov - eye, ord="fro"))
    if not terms:
        return None
    return weight * torch.stack(terms).mean()


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; no weight decay on biases and norms; the new head at ``head_lr_scale`` times the rate.

    The head starts random while the encoder is pretrained: at the encoder's rate a 77-way head is
    still far from fitted after an epoch, and raising the rate for all weights would disturb the
    encoder. Group 0 is the encoder's (its rate is the one progress reports).
    """
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        is_head = bool(NEW_HEAD_PARTS & set(name.split(".")))
        decays = not (p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name)
        groups.setdefault((is_head, decays), []).append(p)
    param_groups = [
        {
            "params": params,
            "weight_decay": config.weight_decay if decays else 0.0,
            "lr": config.learning_rate * (config.head_lr_scale if is_head else 1.0),
        }
        for (is_head, decays), params in sorted(groups.items(), key=lambda item: (item[0][0], not item[0][1]))
    ]
    return torch.optim.AdamW(param_groups, lr=config.learning_rate)


def linear_schedule(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup`` steps, then linear decay to 0 at ``total``.

    Not transformers' ``get_linear_schedule_with_warmup``: with warmup > 0 its factor at step s < warmup
    is ``s / warmup``, so step 0 trains at lr 0 (a wasted step) and every warm-up step is lower than
    here, ``(s + 1) / (warmup + 1)``. The decay, and the whole schedule when warmup is 0, are the same.
    Switching would change every run's learning rates and results.
    """

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def predict_logits(
    model: torch.nn.Module,
    encoded: data.Encoded,
    precision: Precision,
    batch_size: int,
    pad_id: int,
    *,
    before_batch: Callable[[], None] | None = None,
) -> np.ndarray:
    model.eval()
    out: np.ndarray | None = None
    with torch.inference_mode():
        for rows in data.sorted_batches(encoded.lengths, batch_size):
            if before_batch is not None:
                before_batch()  # the engine's cancel check: it raises to stop
            input_ids, mask, _ = data.collate(encoded, rows, pad_id)
            with precision.autocast():
                logits = model(
                    input_ids=input_ids.to(precision.device), attention_mask=mask.to(precision.device)
                ).logits
            values = logits.float().cpu().numpy()
            if out is None:
                out = np.zeros((len(encoded), values.shape[1]), dtype=np.float32)
            out[rows] = values
    model.train()
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


_ADALORA_RANK_PATTERN_WARNING = r"The following rank_pattern keys did not match any targeted module"


def load_artifact_model(artifact_dir: Path | str, base_model_path: Path | str | None = None) -> torch.nn.Module:
    """The classifier an artifact holds, in eval mode (for tests, benchmarks and a reference loader).

    Full fine-tuning: the saved weights. LoRA/AdaLoRA: the base encoder (from ``base_model_path`` or the
    path recorded at training time) with the adapter and head applied.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    directory = Path(artifact_dir)
    manifest = json.loads((directory / "tunebase.json").read_text())
    if manifest["method"] == "full":
        model = AutoModelForSequenceClassification.from_pretrained(str(directory))
    else:
        from peft import PeftModel

        base = AutoModelForSequenceClassification.from_pretrained(
            str(base_model_path or manifest["base_model_path"]),
            config=AutoConfig.from_pretrained(str(directory)),
        )
        with warnings.catch_warnings():
            # AdaLoRA saves ``rank_pattern`` as the ranks it kept per ``lora_E`` parameter, and loading
            # applies it (``resize_modules_by_rank_pattern``); peft's check for LoRA's rank patterns
            # (module-name patterns) reads those keys too and warns, wrongly, that they were ignored.
            warnings.filterwarnings("ignore", message=_ADALORA_RANK_PATTERN_WARNING, category=RuntimeWarning)
            model = PeftModel.from_pretrained(base, str(directory))
    model.eval()
    return model
