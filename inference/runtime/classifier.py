"""Serving a trained model: load an artifact, predict batches of texts, check the fast path against fp32.

No Django here: the web side passes local directories in and shapes the answers.

What makes it fast on a CPU: bf16 matrix products where the CPU has bf16 kernels (AMX, or AVX-512-BF16
alone, where they run faster than fp32's; elsewhere bf16 is emulated, many times slower, and fp32
serves), with the residual stream, LayerNorms and head in float32 (``inference.runtime.packed``), texts
sorted by length into batches, BERT models computed on packed tokens in one TorchScript call
(``inference.runtime.packed``: no padding in the dense layers, which a micro-batch of mixed requests
would otherwise spend a large share of its work on, and no GIL held while it runs), and tokenizing with
the Rust tokenizer in one call. ``bench/serve.py`` measures the whole against a per-text
``transformers.pipeline``. A version is served in bf16 only when its parity check agrees with fp32
(``parity_check``).

LoRA/AdaLoRA versions share one loaded encoder per base model (``BasePool``): each version holds only
its low-rank factors and its head (a few hundred KB), and a forward pass runs the shared encoder with
that version's weights swapped in (``torch.func.functional_call``), so one process holds hundreds of
tenants' models. Full fine-tunes hold their own copy of the weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch

from inference.runtime import packed
from training.engine.data import sorted_batches
from training.engine.modeling import cpu_supports_bf16

FP32 = "fp32"
BF16 = "bf16"
PRECISIONS = (FP32, BF16)
MANIFEST = "tunebase.json"
FACTORS = "lora_factors.safetensors"
HEAD = "head.safetensors"
PARITY_TEXTS = "parity_texts.json"
DEFAULT_BATCH_SIZE = 64
# Parity bar: the fast path must pick the same label as fp32 this often, and its scores stay this close
# on 99 % of the texts (one text in a few hundred near a decision boundary may move more; its label is
# held by the agreement bar).
MIN_AGREEMENT = 0.995
MAX_SCORE_DIFF = 0.05


class ArtifactError(RuntimeError):
    """The artifact directory is missing files or was written by an unknown format."""


def bf16_supported() -> bool:
    """True when oneDNN has bf16 kernels for this CPU (AMX or AVX-512-BF16): there bf16 pays off."""
    return cpu_supports_bf16()


def _dtype(precision: str) -> torch.dtype:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return torch.bfloat16 if precision == BF16 else torch.float32


def _device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass(frozen=True)
class Manifest:
    method: str
    base_model: str
    base_model_path: str
    label_names: list[str]
    multi_label: bool
    thresholds: list[float]
    max_length: int

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        if not path.is_file():
            raise ArtifactError(f"{directory} holds no {MANIFEST}: not a model artifact")
        raw = json.loads(path.read_text())
        names = list(raw["label_names"])
        thresholds = raw.get("thresholds") or {}
        return cls(
            method=raw["method"],
            base_model=raw.get("base_model", ""),
            base_model_path=raw.get("base_model_path", ""),
            label_names=names,
            multi_label=bool(raw.get("multi_label")),
            thresholds=[float(thresholds.get(name, 0.5 if raw.get("multi_label") else 0.0)) for name in names],
            max_length=int(raw.get("max_length", 128)),
        )


# --- tokenizing and batching ------------------------------------------------------------------------

_tokenizers: dict[tuple[str, int], Any] = {}
_tokenizers_lock = threading.Lock()


def _tokenizer(directory: Path, max_length: int) -> Any:
    """The artifact's fast tokenizer, shared by every version with the same tokenizer file."""
    from tokenizers import Tokenizer

    raw = (directory / "tokenizer.json").read_bytes()
    key = (hashlib.sha256(raw).hexdigest(), max_length)
    with _tokenizers_lock:
        tokenizer = _tokenizers.get(key)
        if tokenizer is None:
            tokenizer = Tokenizer.from_str(raw.decode())
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length)
            _tokenizers[key] = tokenizer
        return tokenizer


def _pad(sequences: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(ids) for ids in sequences)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, ids in enumerate(sequences):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    return torch.from_numpy(input_ids), torch.from_numpy(mask)


def _tensor_bytes(tensors: Any) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


# --- shared encoders for adapters -------------------------------------------------------------------


class SharedBase:
    """One base model loaded once, in one precision, for every adapter version trained on it."""

    def __init__(self, path: Path, precision: str, device: torch.device) -> None:
        from transformers import AutoModelForSequenceClassification
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # its head is unused: each version brings its own
        hf_logging.disable_progress_bar()
        model = AutoModelForSequenceClassification.from_pretrained(str(path), num_labels=2)
        self.model = model.to(device=device, dtype=_dtype(precision)).eval()
        self.weights = dict(self.model.named_parameters())
        self.pad_id = int(self.model.config.pad_token_id or 0)
        self.device = device
        self.precision = precision
        # The packed forward's arrangement, made once: a version overrides only what it changes.
        prepared = _packed(self.model.config, self.weights)
        self.prepared = packed.pack(prepared) if prepared is not None else None
        self.nbytes = _tensor_bytes([*self.model.parameters(), *self.model.buffers()])
        if self.prepared is not None:  # its packed matrices are copies; the rest it shares
            self.nbytes += _tensor_bytes(t for t in self.prepared.layers if t.is_mkldnn)
        # functional_call swaps tensors into the module for the call: one forward at a time.
        self.lock = threading.Lock()


class BasePool:
    """Shared encoders by (directory, precision, device); thread-safe."""

    def __init__(self) -> None:
        self._bases: dict[tuple[str, str, str], SharedBase] = {}
        self._lock = threading.Lock()

    def get(self, path: Path, precision: str, device: torch.device) -> SharedBase:
        key = (str(Path(path).resolve()), precision, str(device))
        with self._lock:
            base = self._bases.get(key)
            if base is None:
                base = SharedBase(Path(path), precision, device)
                self._bases[key] = base
            return base

    def drop_unused(self, in_use: set[int]) -> int:
        """Forget bases no loaded version refers to (by ``id``); returns the bytes freed."""
        with self._lock:
            unused = [key for key, base in self._bases.items() if id(base) not in in_use]
            freed = sum(self._bases[key].nbytes for key in unused)
            for key in unused:
                del self._bases[key]
            return freed

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(base.nbytes for base in self._bases.values())

    def __len__(self) -> int:
        return len(self._bases)


# --- a loaded version -------------------------------------------------------------------------------


@dataclass
class Classifier:
    """A model version ready to predict: ``predict_proba(texts)`` gives one row of label scores per text."""

    label_names: list[str]
    multi_label: bool
    thresholds: np.ndarray
    precision: str
    device: torch.device
    max_length: int
    nbytes: int  # what this version holds itself (a shared encoder is counted by its pool)
    _tokenizer: Any = field(repr=False)
    _forward: Callable[[list[list[int]]], torch.Tensor] = field(repr=False)  # token ids -> float32 scores
    shared_base: SharedBase | None = field(default=None, repr=False)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]

    def predict_proba(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.label_names)), dtype=np.float32)
        return self.predict_proba_ids(self.tokenize(texts), batch_size)

    def predict_proba_ids(self, token_ids: list[list[int]], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        lengths = np.asarray([len(ids) for ids in token_ids], dtype=np.int64)
        out = np.zeros((len(token_ids), len(self.label_names)), dtype=np.float32)
        with torch.inference_mode():
            for rows in sorted_batches(lengths, batch_size):
                out[rows] = self._forward([token_ids[i] for i in rows]).cpu().numpy()
        return out


def load(
    artifact_dir: Path | str,
    *,
    precision: str = FP32,
    device: str = "cpu",
    base_model_path: Path | str | None = None,
    bases: BasePool | None = None,
) -> Classifier:
    """Load a version's artifact for serving.

    ``base_model_path`` is the base model's directory on this machine (adapters need it; it defaults
    to the path recorded at training time). With ``bases``, adapter versions share its encoders.
    """
    directory = Path(artifact_dir)
    manifest = Manifest.read(directory)
    dtype = _dtype(precision)
    target = _device(device)
    tokenizer = _tokenizer(directory, manifest.max_length)
    common: dict[str, Any] = {
        "label_names": manifest.label_names,
        "multi_label": manifest.multi_label,
        "thresholds": np.asarray(manifest.thresholds, dtype=np.float32),
        "precision": precision,
        "device": target,
        "max_length": manifest.max_length,
        "_tokenizer": tokenizer,
    }
    if manifest.method != "full" and (directory / FACTORS).is_file() and (directory / HEAD).is_file():
        base_path = Path(base_model_path or manifest.base_model_path)
        base = (bases if bases is not None else BasePool()).get(base_path, precision, target)
        return _adapter_classifier(directory, base, dtype, _output(manifest), common)

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if manifest.method == "full":
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(str(directory))
    else:  # an adapter without the factors file: peft applies it to a private copy of the encoder
        from training.engine.modeling import load_artifact_model

        model = load_artifact_model(directory, base_model_path).merge_and_unload()  # type: ignore[operator]
    model = model.to(device=target, dtype=dtype).eval()
    pad_id = int(model.config.pad_token_id or 0)
    prepared = _packed(model.config, dict(model.named_parameters()))
    output = _output(manifest)
    if prepared is not None:
        fast = packed.pack(prepared)  # the model itself is not kept: these are its weights now

        def packed_forward(token_ids: list[list[int]]) -> torch.Tensor:
            return packed.logits(fast, token_ids, target, output)

        return Classifier(**common, nbytes=fast.nbytes, _forward=packed_forward)

    def forward(token_ids: list[list[int]]) -> torch.Tensor:
        input_ids, mask = _pad(token_ids, pad_id)
        return _scores(model(input_ids=input_ids.to(target), attention_mask=mask.to(target)).logits, output)

    nbytes = _tensor_bytes([*model.parameters(), *model.buffers()])
    return Classifier(**common, nbytes=nbytes, _forward=forward)


def _output(manifest: Manifest) -> str:
    return "sigmoid" if manifest.multi_label else "softmax"


def _scores(logits: torch.Tensor, output: str) -> torch.Tensor:
    logits = logits.float()
    return torch.sigmoid(logits) if output == "sigmoid" else torch.softmax(logits, dim=-1)


def _packed(config: Any, weights: dict[str, torch.Tensor]) -> packed.Prepared | None:
    """The packed forward's arrangement of these weights, or None where it does not apply."""
    shape = packed.shape_of(config)
    if shape is None:
        return None
    try:
        return packed.prepare(weights, shape)
    except KeyError:
        return None


def _adapter_classifier(
    directory: Path, base: SharedBase, dtype: torch.dtype, output: str, common: dict[str, Any]
) -> Classifier:
    from safetensors.torch import load_file

    factors = load_file(str(directory / FACTORS))
    head = {name: t.to(device=base.device, dtype=dtype) for name, t in load_file(str(directory / HEAD)).items()}
    pairs: list[tuple[str, torch.Tensor, torch.Tensor]] = []
    for key in sorted(factors):
        if key.endswith(".down"):
            weight = key.removesuffix(".down")
            if weight not in base.weights:
                raise ArtifactError(f"adapter weight {weight} does not exist in the base model")
            pairs.append((weight, factors[weight + ".up"].to(base.device), factors[key].to(base.device)))
    unknown = set(head) - set(base.weights)
    if unknown:
        raise ArtifactError(f"head weights {sorted(unknown)[:3]} do not exist in the base model")
    nbytes = _tensor_bytes([*factors.values(), *head.values()])

    def forward(token_ids: list[list[int]]) -> torch.Tensor:
        # W + up @ down, computed per batch: a few MFLOP against the forward's GFLOPs, and no merged
        # copy of the encoder is kept per version.
        overrides = dict(head)
        for weight, up, down in pairs:
            overrides[weight] = (base.weights[weight].float() + up @ down).to(dtype)
        if base.prepared is not None:
            prepared = packed.override(base.prepared, base.weights, overrides)
            return packed.logits(prepared, token_ids, base.device, output)
        input_ids, mask = _pad(token_ids, base.pad_id)
        with base.lock:
            result = torch.func.functional_call(
                base.model,
                overrides,
                args=(),
                kwargs={"input_ids": input_ids.to(base.device), "attention_mask": mask.to(base.device)},
                strict=False,
            )
        return _scores(result.logits, output)

    return Classifier(**common, nbytes=nbytes, _forward=forward, shared_base=base)


# --- parity of the fast path ------------------------------------------------------------------------


@dataclass(frozen=True)
class ParityReport:
    precision: str  # the path that was checked against fp32
    texts: int
    agreement: float  # share of texts whose top label matches fp32's (multi-label: same label set)
    max_score_diff: float
    p99_score_diff: float
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "texts": self.texts,
            "agreement": self.agreement,
            "max_score_diff": self.max_score_diff,
            "p99_score_diff": self.p99_score_diff,
            "passed": self.passed,
        }


def parity_texts(artifact_dir: Path | str) -> list[str]:
    """The validation texts saved with the artifact for this check (empty for older artifacts)."""
    path = Path(artifact_dir) / PARITY_TEXTS
    return [str(t) for t in json.loads(path.read_text())] if path.is_file() else []


def parity_check(
    artifact_dir: Path | str,
    texts: Sequence[str] | None = None,
    *,
    precision: str = BF16,
    base_model_path: Path | str | None = None,
) -> ParityReport:
    """Does ``precision`` answer like fp32 on the version's validation texts? (>= 99.5 % the same label, and
    scores within MAX_SCORE_DIFF on 99 % of them)."""
    sample = list(texts) if texts is not None else parity_texts(artifact_dir)
    if not sample:
        return ParityReport(precision, 0, 0.0, 1.0, 1.0, False)
    reference = load(artifact_dir, precision=FP32, base_model_path=base_model_path)
    candidate = load(artifact_dir, precision=precision, base_model_path=base_model_path)
    return compare_scores(
        reference.predict_proba(sample),
        candidate.predict_proba(sample),
        precision=precision,
        thresholds=reference.thresholds if reference.multi_label else None,
    )


def compare_scores(
    expected: np.ndarray, got: np.ndarray, *, precision: str, thresholds: np.ndarray | None = None
) -> ParityReport:
    """The parity verdict for fp32 scores ``expected`` against the fast path's ``got`` (one row per text);
    ``thresholds`` for multi-label models, whose label sets must then match."""
    if thresholds is not None:
        same = ((expected >= thresholds) == (got >= thresholds)).all(axis=1)
    else:
        same = expected.argmax(axis=1) == got.argmax(axis=1)
    agreement = float(same.mean())
    per_text = np.abs(expected - got).max(axis=1)
    p99 = float(np.percentile(per_text, 99))
    passed = agreement >= MIN_AGREEMENT and p99 <= MAX_SCORE_DIFF
    return ParityReport(precision, len(expected), agreement, float(per_text.max()), p99, passed)


__all__ = [
    "BF16",
    "FP32",
    "ArtifactError",
    "BasePool",
    "Classifier",
    "Manifest",
    "ParityReport",
    "SharedBase",
    "bf16_supported",
    "compare_scores",
    "load",
    "parity_check",
    "parity_texts",
]
