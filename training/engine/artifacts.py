"""Writing checkpoints and the model artifact, each atomically: a reader never sees half a directory.

A directory is written under a temporary name beside its final place and renamed into place; the
previous one is moved aside first and removed after, so a kill at any moment leaves either the old or
the new directory whole (``load_checkpoint`` falls back to the one moved aside).

The model artifact (``save_artifact``): the weights (with LoRA/AdaLoRA, also the head and the low-rank
factors a server applies to a shared encoder), the tokenizer, the manifest, the report and the parity sample.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from training.engine.train_config import TrainConfig

FORMAT_VERSION = 1
ARTIFACT_DIR = "model"
CHECKPOINTS = "checkpoints"
LATEST = "latest"
BEST = "best"
STATE_FILE = "state.json"
WEIGHTS_FILE = "weights.safetensors"
# Validation texts kept in the artifact, for the serving side's check of its optimized path against fp32.
PARITY_SAMPLE = 512


def write_dir_atomically(target: Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` into a fresh temporary directory, then swap it in as ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    old = target.parent / f".{target.name}.old"
    try:
        tmp.mkdir()
        write(tmp)
        _fsync_dir(tmp)
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    return target


def _fsync_dir(directory: Path) -> None:
    for path in directory.iterdir():
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())


def trainable_state(model: torch.nn.Module, full: bool) -> dict[str, torch.Tensor]:
    """What a checkpoint must hold: every tensor when fine-tuning fully, else only the trained ones."""
    if full:
        return {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    return {n: p.detach().contiguous().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    missing = set(weights) - set(model.state_dict())
    if missing:
        raise ValueError(f"checkpoint weights do not fit the model: {sorted(missing)[:3]}")
    model.load_state_dict(weights, strict=False)


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    output_dir: Path,
    *,
    weights: dict[str, torch.Tensor],
    optimizer: dict[str, Any],
    scheduler: dict[str, Any],
    scaler: dict[str, Any] | None,
    state: dict[str, Any],
    best_weights: dict[str, torch.Tensor] | None,
) -> None:
    """The end-of-epoch checkpoint (``latest``), and ``best`` when this epoch is the best so far."""
    root = output_dir / CHECKPOINTS

    def write_latest(directory: Path) -> None:
        save_file(weights, str(directory / WEIGHTS_FILE))
        torch.save(
            {"optimizer": optimizer, "scheduler": scheduler, "scaler": scaler, "rng": rng_state()},
            directory / "training_state.pt",
        )
        (directory / STATE_FILE).write_text(json.dumps(state, indent=1))

    if best_weights is not None:
        write_dir_atomically(root / BEST, lambda d: save_file(best_weights, str(d / WEIGHTS_FILE)))
    write_dir_atomically(root / LATEST, write_latest)


def load_checkpoint(output_dir: Path) -> tuple[dict[str, Any], Path] | None:
    """The latest checkpoint's state and directory, or None when there is none readable."""
    root = output_dir / CHECKPOINTS
    for directory in (root / LATEST, root / f".{LATEST}.old"):
        state_file = directory / STATE_FILE
        if (
            state_file.is_file()
            and (directory / WEIGHTS_FILE).is_file()
            and (directory / "training_state.pt").is_file()
        ):
            try:
                return json.loads(state_file.read_text()), directory
            except json.JSONDecodeError:
                continue
    return None


def load_training_state(directory: Path) -> dict[str, Any]:
    # weights_only=False: the file holds Python RNG tuples and numpy state; it is our own checkpoint,
    # written by this worker into the run's private work directory, never customer input.
    return torch.load(directory / "training_state.pt", weights_only=False)


def load_weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(str(directory / WEIGHTS_FILE))


def best_weights(output_dir: Path) -> dict[str, torch.Tensor] | None:
    path = output_dir / CHECKPOINTS / BEST / WEIGHTS_FILE
    return load_file(str(path)) if path.is_file() else None


def clear_checkpoints(output_dir: Path) -> None:
    shutil.rmtree(output_dir / CHECKPOINTS, ignore_errors=True)


def directory_size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


# --- the model artifact ---------------------------------------------------------------------------


def save_artifact(
    output: Path,
    *,
    model: torch.nn.Module,
    tokenizer: Any,
    base_name: str,
    base_path: Path,
    config: TrainConfig,
    label_names: list[str],
    thresholds: dict[str, float],
    metrics: dict[str, Any],
    parity_texts: Sequence[str],
) -> Path:
    """Write ``output/model`` atomically: weights, tokenizer, manifest, report and the parity sample.

    The manifest's ``temperature`` (the report's ``calibration``, ``training.engine.calibration``) is what
    serving divides the logits by before the softmax; an artifact written before calibration has none
    and serves at 1.
    """
    temperature = float((metrics.get("calibration") or {}).get("temperature", 1.0))
    manifest = {
        "format_version": FORMAT_VERSION,
        "base_model": base_name,
        "base_model_path": str(base_path),
        "method": config.method,
        "label_names": label_names,
        "multi_label": config.multi_label,
        "thresholds": thresholds,
        "temperature": temperature,
        "max_length": config.max_length,
        "config": asdict(config),
    }

    def write(directory: Path) -> None:
        _write_weights(directory, model, config.method)
        tokenizer.save_pretrained(str(directory))
        (directory / "tunebase.json").write_text(json.dumps(manifest, indent=1))
        (directory / "report.json").write_text(json.dumps(metrics, indent=1))
        (directory / "parity_texts.json").write_text(json.dumps(list(parity_texts)[:PARITY_SAMPLE]))

    return write_dir_atomically(output / ARTIFACT_DIR, write)


def _write_weights(directory: Path, model: torch.nn.Module, method: str) -> None:
    model.save_pretrained(str(directory))  # type: ignore[operator]
    if method == "full":
        return
    # LoRA/AdaLoRA: save_pretrained wrote adapter_model.safetensors (LoRA + head) and adapter_config.json;
    # the classification config (label map, head size) goes beside them, and the head alone so servers
    # can share one encoder.
    model.base_model.model.config.save_pretrained(str(directory))  # type: ignore[union-attr, operator]
    head = {
        _plain_name(name): p.detach().contiguous().cpu()
        for name, p in model.named_parameters()
        if p.requires_grad and "modules_to_save" in name
    }
    save_file(head, str(directory / "head.safetensors"))
    save_file(low_rank_factors(model), str(directory / "lora_factors.safetensors"))


def low_rank_factors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Each adapted weight's update as two factors, ``<weight>.up @ <weight>.down`` (scaling included).

    LoRA: ``B * scaling`` and ``A``. AdaLoRA: ``B * scaling / ranknum`` and ``A * E`` (its singular
    values; pruned ranks are zeros). Read off the live peft layers, so a server can apply any adapter
    to one shared encoder without peft, whatever peft's own file layout is.
    """
    factors: dict[str, torch.Tensor] = {}
    for name, module in model.named_modules():
        scaling = getattr(module, "scaling", None)
        if not isinstance(scaling, dict) or "default" not in scaling or not hasattr(module, "lora_A"):
            continue
        weight = _plain_name(name) + ".weight"
        a, b = module.lora_A["default"], module.lora_B["default"]
        if hasattr(module, "lora_E"):
            rank = float(module.ranknum["default"]) + 1e-5
            down = a * module.lora_E["default"]
            up = b * (float(scaling["default"]) / rank)
        else:
            down, up = a.weight, b.weight * float(scaling["default"])
        factors[weight + ".down"] = down.detach().float().contiguous().cpu()
        factors[weight + ".up"] = up.detach().float().contiguous().cpu()
    return factors


def _plain_name(peft_name: str) -> str:
    """``base_model.model.classifier.modules_to_save.default.weight`` -> ``classifier.weight``."""
    return peft_name.replace(".modules_to_save.default", "").removeprefix("base_model.model.")
