"""The serving core: load a trained artifact, predict batches of texts, check the fast path against fp32.

No Django here (an import-linter contract in pyproject.toml holds it): ``inference.loading`` and the
services pass local directories and texts in and shape the answers. The modules:

- ``classifier``: load an artifact (full weights or a LoRA adapter on a shared encoder), predict.
- ``parity``: the check that a version answers in bf16 as it does in fp32.
- ``packed``: BERT forwards on packed tokens in one TorchScript call (no padding in the dense layers).
- ``batcher``: gathers concurrent requests' texts into micro-batches for one model thread.
- ``cache``: loaded classifiers, least recently used out first, bounded by bytes.
- ``shaping``: scores into the API's prediction objects.
- ``batch_io``: batch prediction files, read and written a row at a time.
"""

from inference.runtime.classifier import (
    BF16,
    FP32,
    MANIFEST,
    PRECISIONS,
    ArtifactError,
    BasePool,
    Classifier,
    bf16_supported,
    load,
)
from inference.runtime.parity import (
    MAX_SCORE_DIFF,
    MIN_AGREEMENT,
    ParityReport,
    compare_scores,
    parity_check,
    parity_texts,
)

__all__ = [
    "BF16",
    "FP32",
    "MANIFEST",
    "MAX_SCORE_DIFF",
    "MIN_AGREEMENT",
    "PRECISIONS",
    "ArtifactError",
    "BasePool",
    "Classifier",
    "ParityReport",
    "bf16_supported",
    "compare_scores",
    "load",
    "parity_check",
    "parity_texts",
]
