"""Writing checkpoints and the model artifact, each atomically: a reader never sees half a directory.

A directory is written under a temporary name beside its final place and renamed into place; the
previous one is moved aside first and removed after, so a kill at any moment leaves either the old or
the new directory whole (``load_checkpoint`` falls back to the one moved aside).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

FORMAT_VERSION = 1
CHECKPOINTS = "checkpoints"
LATEST = "latest"
BEST = "best"
STATE_FILE = "state.json"
WEIGHTS_FILE = "weights.safetensors"


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
