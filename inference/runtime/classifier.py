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
(``inference.runtime.parity``).

LoRA/AdaLoRA versions share one loaded encoder per base model (``BasePool``): each version holds only
its low-rank factors and its head (a few hundred KB), and a forward pass runs the shared encoder with
that version's weights swapped in (``torch.func.functional_call``), so one process holds hundreds of
tenants' models. Full fine-tunes hold their own copy of the weights.

Scores are calibrated: a single-label version's logits are divided by the temperature fitted on its
validation rows at training (``training.engine.calibration``, the manifest's ``temperature``; 1 for
artifacts written before it) before the softmax, so every path (API, batch files, monitors, the parity
check) sees the same honest scores.
"""

from __future__ import annotations

import hashlib
import json
import math
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
DEFAULT_BATCH_SIZE = 64


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
    temperature: float = 1.0  # serving divides the logits by it (calibrated at training; older artifacts: 1)

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
            temperature=_temperature(raw.get("temperature", 1.0)),
        )


def _temperature(value: Any) -> float:
    try:
        temperature = float(value)
    except (TypeError, ValueError):
        raise ArtifactError(f"the manifest's temperature {value!r} is not a number") from None
    if not math.isfinite(temperature) or temperature <= 0:
        raise ArtifactError(f"the manifest's temperature must be a positive number, not {value!r}")
    return temperature


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
    temperature: float  # the scores are softmax(logits / temperature): calibrated at training
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
    common: dict[str, Any] = {
        "label_names": manifest.label_names,
        "multi_label": manifest.multi_label,
        "thresholds": np.asarray(manifest.thresholds, dtype=np.float32),
        "temperature": manifest.temperature,
        "precision": precision,
        "device": target,
        "max_length": manifest.max_length,
        "_tokenizer": _tokenizer(directory, manifest.max_length),
    }
    if manifest.method != "full" and (directory / FACTORS).is_file() and (directory / HEAD).is_file():
        base_path = Path(base_model_path or manifest.base_model_path)
        base = (bases if bases is not None else BasePool()).get(base_path, precision, target)
        return _adapter_classifier(directory, base, dtype, _output(manifest), common)
    model = _own_model(directory, manifest, base_model_path).to(device=target, dtype=dtype).eval()
    return _own_classifier(model, target, _output(manifest), common)


def _calibrated(output: str, temperature: float) -> tuple[str, Callable[[torch.Tensor], torch.Tensor]]:
    """What to ask the forward for, and what turns its answer into scores: the softmax (or sigmoid)
    itself at temperature 1, else the logits, divided by the temperature before it (a division of a
    few numbers per text)."""
    if temperature == 1.0:
        return output, lambda scores: scores
    return "logits", lambda logits: _scores(logits / temperature, output)


def _own_model(directory: Path, manifest: Manifest, base_model_path: Path | str | None) -> Any:
    """The version's own copy of the weights: a full fine-tune, or an adapter merged into its base."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if manifest.method == "full":
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification.from_pretrained(str(directory))
    # an adapter without the factors file: peft applies it to a private copy of the encoder
    from training.engine.modeling import load_artifact_model

    return load_artifact_model(directory, base_model_path).merge_and_unload()  # type: ignore[operator]


def _own_classifier(model: Any, target: torch.device, output: str, common: dict[str, Any]) -> Classifier:
    """A classifier over a model of its own: the packed forward where it applies, else the model's."""
    prepared = _packed(model.config, dict(model.named_parameters()))
    temperature = float(common["temperature"])
    if prepared is not None:
        fast = packed.pack(prepared)  # the model itself is not kept: these are its weights now
        ask, finish = _calibrated(output, temperature)

        def packed_forward(token_ids: list[list[int]]) -> torch.Tensor:
            return finish(packed.logits(fast, token_ids, target, ask))

        return Classifier(**common, nbytes=fast.nbytes, _forward=packed_forward)

    pad_id = int(model.config.pad_token_id or 0)

    def forward(token_ids: list[list[int]]) -> torch.Tensor:
        input_ids, mask = _pad(token_ids, pad_id)
        logits = model(input_ids=input_ids.to(target), attention_mask=mask.to(target)).logits
        return _scores(logits.float() / temperature, output)

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
    temperature = float(common["temperature"])
    ask, finish = _calibrated(output, temperature)

    def forward(token_ids: list[list[int]]) -> torch.Tensor:
        # W + up @ down, computed per batch: a few MFLOP against the forward's GFLOPs, and no merged
        # copy of the encoder is kept per version.
        overrides = dict(head)
        for weight, up, down in pairs:
            overrides[weight] = (base.weights[weight].float() + up @ down).to(dtype)
        if base.prepared is not None:
            prepared = packed.override(base.prepared, base.weights, overrides)
            return finish(packed.logits(prepared, token_ids, base.device, ask))
        input_ids, mask = _pad(token_ids, base.pad_id)
        with base.lock:
            result = torch.func.functional_call(
                base.model,
                overrides,
                args=(),
                kwargs={"input_ids": input_ids.to(base.device), "attention_mask": mask.to(base.device)},
                strict=False,
            )
        return _scores(result.logits.float() / temperature, output)

    return Classifier(**common, nbytes=nbytes, _forward=forward, shared_base=base)


__all__ = [
    "BF16",
    "FP32",
    "ArtifactError",
    "BasePool",
    "Classifier",
    "Manifest",
    "SharedBase",
    "bf16_supported",
    "load",
]
