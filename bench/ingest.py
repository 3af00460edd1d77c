"""The data check on a 1,000,000-row (~100 MB) CSV against pandas.read_csv + value_counts, same file, same run.

Prints wall time and peak RSS of each (each runs in its own fresh process, so peaks do not mix) and
the ratios the Datasets issue targets: time at most 3x pandas, peak memory at most half of pandas'.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = [
    "card",
    "payment",
    "refund",
    "transfer",
    "account",
    "balance",
    "charge",
    "pending",
    "declined",
    "app",
    "login",
    "password",
    "pin",
    "top",
    "up",
    "exchange",
    "rate",
    "fee",
    "atm",
    "cash",
    "withdrawal",
    "verify",
    "identity",
    "address",
    "change",
    "lost",
    "stolen",
    "freeze",
    "limit",
    "the",
    "a",
    "my",
    "i",
    "is",
    "was",
    "why",
    "how",
    "can",
    "what",
    "when",
    "not",
    "still",
    "did",
    "you",
    "it",
    "to",
    "for",
    "on",
    "of",
    "and",
    "with",
]


def generate(path: Path, rows: int) -> None:
    rng = random.Random(7)
    labels = [f"intent_{i:02d}" for i in range(77)]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("text,label\n")
        for _ in range(rows):
            words = rng.choices(WORDS, k=rng.randint(8, 26))
            text = " ".join(words)
            if rng.random() < 0.1:
                text = f'"{text}, please"'
            out.write(f"{text},{rng.choice(labels)}\n")


def _measure(kind: str, path: str) -> None:
    started = time.perf_counter()
    if kind == "pandas":
        import pandas as pd

        frame = pd.read_csv(path)
        counts = frame["label"].value_counts()
        rows, labels = len(frame), len(counts)
    else:
        sys.path.insert(0, str(ROOT))
        from projects.ingest import check_stream

        with open(path, "rb") as stream:
            _, result = check_stream(stream)
        rows, labels = result.report["rows_usable"], result.report["label_count"]
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": rows, "labels": labels}))


def run(kind: str, path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _measure(*args.measure)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.csv"
        generate(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        pandas = run("pandas", path)
        ours = run("ours", path)
        assert ours["rows"] == pandas["rows"] and ours["labels"] == pandas["labels"], (ours, pandas)
        print(f"file: {args.rows:,} rows, {size_mb:.0f} MB")
        print(f"pandas read_csv+value_counts: {pandas['seconds']:.2f} s, peak RSS {pandas['peak_mb']:.0f} MB")
        print(f"tunebase data check:          {ours['seconds']:.2f} s, peak RSS {ours['peak_mb']:.0f} MB")
        print(f"time ratio (ours/pandas):   {ours['seconds'] / pandas['seconds']:.2f}  (target <= 3.0)")
        print(f"memory ratio (ours/pandas): {ours['peak_mb'] / pandas['peak_mb']:.2f}  (target <= 0.5)")
        if args.keep:
            kept = ROOT / "var" / "bench-ingest.csv"
            kept.parent.mkdir(exist_ok=True)
            path.replace(kept)


if __name__ == "__main__":
    main()
