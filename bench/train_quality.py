"""Model quality with product defaults: train on a public dataset's train split, score its test split.

    .venv/bin/python bench/train_quality.py                  # banking77 (77 intents, 10 k rows)
    .venv/bin/python bench/train_quality.py --dataset sst2   # binary sentiment, 6.9 k rows

Uses ``engine.defaults_for`` exactly as a customer's run would (the validation split for early
stopping comes out of train), then predicts test.csv with the saved artifact's weights and prints
accuracy, macro-F1 and wall time. Targets (issue 4): banking77 >= 92 % in < 20 min; sst2 >= 89 %.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
LABEL_COLUMN = {"banking77": "category", "sst2": "label", "agnews": "label"}


def load(dataset: str, split: str) -> tuple[list[str], list[tuple[str, ...]]]:
    with (DATASETS / dataset / f"{split}.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    column = LABEL_COLUMN.get(dataset) or next(c for c in rows[0] if c != "text")
    return [r["text"] for r in rows], [(r[column],) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="banking77", choices=sorted(LABEL_COLUMN))
    parser.add_argument("--method", default="full", choices=["full", "lora", "adalora"])
    parser.add_argument("--epochs", type=int, help="override the default epoch count")
    parser.add_argument("--learning-rate", type=float, help="override the default learning rate")
    parser.add_argument("--seed", type=int, help="override the default seed")
    parser.add_argument("--output", type=Path, help="keep the work directory here")
    options = parser.parse_args()

    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score
    from transformers import AutoTokenizer

    from training import engine
    from training.engine import data
    from training.engine.base_models import resolve

    base = resolve("minilm-l6", {})
    texts, labels = load(options.dataset, "train")
    test_texts, test_labels = load(options.dataset, "test")
    n_labels = len({x[0] for x in labels})
    config = engine.defaults_for(len(texts), n_labels, options.method)
    if options.epochs:
        config.epochs = options.epochs
    if options.learning_rate:
        config.learning_rate = options.learning_rate
    if options.seed is not None:
        config.seed = options.seed
    print(f"{options.dataset}: {len(texts)} train, {len(test_texts)} test, {n_labels} labels; config {config}")

    last_print = [0.0]

    def progress(event: engine.Progress) -> None:
        if time.monotonic() - last_print[0] >= 30 or event.macro_f1 is not None:
            last_print[0] = time.monotonic()
            eta = f"{event.eta_s:.0f}" if event.eta_s is not None else "?"
            speed = f"{event.samples_per_s:.1f}" if event.samples_per_s else "?"
            val = f" val macro-F1 {event.macro_f1:.4f} acc {event.accuracy:.4f}" if event.macro_f1 is not None else ""
            print(
                f"  {event.phase} epoch {event.epoch}/{event.epochs} step {event.step}/{event.total_steps} "
                f"loss {event.loss or 0:.4f} {speed} samples/s eta {eta}s{val}",
                flush=True,
            )

    work = options.output or Path(tempfile.mkdtemp(prefix="tunebase-quality-"))
    started = time.monotonic()
    result = engine.fine_tune(
        texts, labels, config, base.path, work, progress=progress, resume=False, base_model_name=base.name
    )
    train_wall = time.monotonic() - started

    # Score the test split with the same weights the artifact holds (the best epoch's).
    precision = engine.choose_precision("auto")
    model = engine.load_artifact_model(result.artifact_dir).to(precision.device)
    tokenizer = AutoTokenizer.from_pretrained(str(result.artifact_dir))
    names = result.label_names
    encoded = data.Encoded(
        data.tokenize(tokenizer, test_texts, config.max_length), data.encode_single(test_labels, names)
    )
    logits = engine.predict_logits(model, encoded, precision, 128, int(tokenizer.pad_token_id or 0))
    predicted = logits.argmax(axis=1)
    truth = encoded.targets
    wall = time.monotonic() - started
    print(
        f"dataset {options.dataset}, method {options.method}, epochs run {result.epochs_run} "
        f"(best {result.best_epoch}), train {result.samples_per_s:.1f} samples/s"
    )
    print(f"validation macro-F1 {result.metrics['macro_f1']:.4f}")
    print(
        f"test accuracy {accuracy_score(truth, predicted):.4f}  "
        f"macro-F1 {f1_score(truth, predicted, average='macro'):.4f}  "
        f"wall {wall / 60:.1f} min (training {train_wall / 60:.1f} min)  n={len(truth)} "
        f"mean padded {np.mean(encoded.lengths):.1f} tokens"
    )


if __name__ == "__main__":
    main()
