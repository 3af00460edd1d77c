"""Training throughput: our engine's training loop against `transformers.Trainer` at its defaults.

Same model (the default base, MiniLM-L6), same data (banking77 train), max_length 64, batch 32. Each
side runs in a fresh subprocess, trains WARMUP steps untimed, then STEPS timed steps, and reports
samples/s. The baseline is what a first attempt looks like: texts tokenized with padding to
max_length, `TrainingArguments` defaults (fp32, AdamW, linear schedule) except the batch size, the
step count and no saving/eval/logging/reporting.

    .venv/bin/python bench/train_speed.py [--steps 40] [--warmup 5]

Target (issue 4): ours >= 3x Trainer's defaults on this CPU.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
BATCH = 32
MAX_LENGTH = 64


def load(split: str) -> tuple[list[str], list[str]]:
    with (DATASETS / "banking77" / f"{split}.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def run_ours(steps: int, warmup: int) -> dict[str, float]:
    import numpy as np
    import torch
    from transformers import AutoTokenizer

    from training import engine
    from training.engine import data, modeling
    from training.engine.base_models import resolve

    base = resolve("minilm-l6", {}).path
    texts, labels = load("train")
    names = sorted(set(labels))
    config = engine.TrainConfig(batch_size=BATCH, max_length=MAX_LENGTH, learning_rate=1e-4, class_weighting=False)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    encoded = data.Encoded(
        data.tokenize(tokenizer, texts, MAX_LENGTH), data.encode_single([(x,) for x in labels], names)
    )
    engine.seed_everything(0)
    precision = engine.choose_precision("cpu")
    total = warmup + steps
    model = engine.build_model(base, names, config, total)
    model.train()
    optimizer = modeling.make_optimizer(model, config)
    scheduler = engine.linear_schedule(optimizer, int(0.06 * total), total)
    weight = torch.ones(len(names))
    batches = data.bucketed_batches(encoded.lengths, BATCH, 0)[:total]
    samples, started = 0, 0.0
    for step, (input_ids, mask, targets) in enumerate(data.iterate(encoded, batches, tokenizer.pad_token_id)):
        if step == warmup:
            started, samples = time.perf_counter(), 0
        engine.train_step(model, optimizer, precision, config, weight, input_ids, mask, targets, step)
        scheduler.step()
        samples += len(input_ids)
    seconds = time.perf_counter() - started
    padded = float(np.mean([int(encoded.lengths[b].max()) for b in batches]))
    return {"samples_per_s": samples / seconds, "seconds": seconds, "precision": precision.name, "padded": padded}


def run_trainer(steps: int, warmup: int) -> dict[str, float]:
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )
    from transformers.utils import logging as hf_logging

    from training.engine.base_models import resolve

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    base = resolve("minilm-l6", {}).path
    texts, labels = load("train")
    names = sorted(set(labels))
    index = {n: i for i, n in enumerate(names)}
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    enc = tokenizer(texts, truncation=True, max_length=MAX_LENGTH, padding="max_length")

    class Rows(torch.utils.data.Dataset):  # type: ignore[type-arg]
        def __len__(self) -> int:
            return len(texts)

        def __getitem__(self, i: int) -> dict[str, object]:
            return {
                "input_ids": enc["input_ids"][i],
                "attention_mask": enc["attention_mask"][i],
                "token_type_ids": enc["token_type_ids"][i],
                "labels": index[labels[i]],
            }

    marks: dict[int, float] = {}

    class Clock(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: object, state: object, control: object, **kwargs: object) -> None:
            marks[state.global_step] = time.perf_counter()  # type: ignore[attr-defined]

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=len(names))
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=BATCH,
            max_steps=warmup + steps,
            save_strategy="no",
            eval_strategy="no",
            logging_strategy="no",
            report_to=[],
            disable_tqdm=True,
        )
        Trainer(model=model, args=args, train_dataset=Rows(), callbacks=[Clock()]).train()
    seconds = marks[warmup + steps] - marks[warmup]
    return {"samples_per_s": steps * BATCH / seconds, "seconds": seconds, "precision": "fp32"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--run", choices=["ours", "trainer"], help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.run:
        result = (run_ours if options.run == "ours" else run_trainer)(options.steps, options.warmup)
        print("RESULT " + json.dumps(result))
        return
    results: dict[str, dict[str, float]] = {}
    for side in ("trainer", "ours"):
        completed = subprocess.run(
            [sys.executable, __file__, "--run", side, "--steps", str(options.steps), "--warmup", str(options.warmup)],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )
        line = next((x for x in completed.stdout.splitlines() if x.startswith("RESULT ")), None)
        if completed.returncode != 0 or line is None:
            print(completed.stdout[-2000:], completed.stderr[-4000:])
            raise SystemExit(f"{side} run failed")
        results[side] = json.loads(line.removeprefix("RESULT "))
        print(f"{side:8s} {results[side]['samples_per_s']:7.1f} samples/s  ({results[side]['seconds']:.1f} s timed)")
    ratio = results["ours"]["samples_per_s"] / results["trainer"]["samples_per_s"]
    print(f"model minilm-l6, banking77 train, batch {BATCH}, max_length {MAX_LENGTH}, {options.steps} timed steps")
    print(f"ratio ours/Trainer defaults: {ratio:.2f}x (target >= 3x)")


if __name__ == "__main__":
    main()
