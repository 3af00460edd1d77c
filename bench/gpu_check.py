"""The CUDA path, proven on a GPU machine: a few hundred mixed-precision training steps, then predictions
from the CUDA runtime that match the CPU's fp32 answers.

    python bench/gpu_check.py [--steps 300] [--device cuda]

Trains the default base model (MiniLM-L6) on banking77 (``../shared/datasets``; a synthetic separable
task where that folder is absent) with the product's engine on ``--device``, then loads the artifact
twice with the serving runtime, on that device in its fast precision and on the CPU in fp32, and
compares their labels on the test texts. Exits 1 when they agree on fewer than 99.5 % of the texts,
2 when the device is missing. ``--device cpu`` runs the same steps here as a smoke test.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def load_data(limit: int) -> tuple[list[str], list[tuple[str, ...]], list[str]]:
    folder = DATASETS / "banking77"
    if (folder / "train.csv").is_file():
        with (folder / "train.csv").open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        with (folder / "test.csv").open(newline="", encoding="utf-8") as f:
            test = [r["text"] for r in csv.DictReader(f)]
        return [r["text"] for r in rows][:limit], [(r["category"],) for r in rows][:limit], test[:1000]
    rng = random.Random(0)
    words = {"food": "pizza bread soup", "music": "guitar piano song", "sport": "goal match team"}
    texts, labels = [], []
    for i in range(limit):
        label = sorted(words)[i % 3]
        texts.append(" ".join(rng.choices(words[label].split(), k=6)))
        labels.append((label,))
    return texts, labels, texts[:500]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="training steps (batch 32)")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    options = parser.parse_args()

    import numpy as np
    import torch

    from inference import runtime
    from training import engine
    from training.engine.base_models import resolve

    if options.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: run this on a GPU machine (or pass --device cpu for a smoke test)")
        return 2
    if options.device == "cuda":
        print(
            f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, bf16 {torch.cuda.is_bf16_supported()}"
        )

    texts, labels, test = load_data(options.steps * 32)
    config = engine.TrainConfig(
        epochs=1, batch_size=32, max_length=64, learning_rate=1e-4, head_lr_scale=10.0, device=options.device
    )
    base = resolve("minilm-l6", {})
    work = Path(tempfile.mkdtemp(prefix="tunebase-gpu-check-"))
    started = time.monotonic()
    result = engine.fine_tune(texts, labels, config, base.path, work, resume=False, base_model_name=base.name)
    print(
        f"trained {result.metrics['n_train']} rows, 1 epoch, precision {result.metrics['precision']} on "
        f"{result.metrics['device']}: {result.samples_per_s:.0f} samples/s, {time.monotonic() - started:.0f} s, "
        f"validation accuracy {result.metrics['accuracy']:.3f}"
    )

    fast = runtime.BF16 if options.device == "cpu" and runtime.bf16_supported() else runtime.FP32
    if options.device == "cuda":
        fast = runtime.BF16 if torch.cuda.is_bf16_supported() else runtime.FP32
    on_device = runtime.load(result.artifact_dir, precision=fast, device=options.device)
    reference = runtime.load(result.artifact_dir, precision=runtime.FP32, device="cpu")
    started = time.monotonic()
    got = on_device.predict_proba(test, batch_size=128)
    device_s = time.monotonic() - started
    expected = reference.predict_proba(test)
    agreement = float((got.argmax(axis=1) == expected.argmax(axis=1)).mean())
    diff = float(np.abs(got - expected).max())
    print(
        f"predictions on {options.device} ({fast}): {len(test) / device_s:.0f} texts/s; against CPU fp32: "
        f"agreement {agreement:.4f}, max score difference {diff:.4f}"
    )
    ok = agreement >= runtime.MIN_AGREEMENT
    print("OK" if ok else "FAILED: the device's predictions differ from the CPU's")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
