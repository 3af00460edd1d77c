"""What the data check counts tokens with: the default base model's tokenizer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings

from training.engine.base_models import UnknownBaseModel, resolve, token_counter

if TYPE_CHECKING:
    pass


logger = logging.getLogger(__name__)


def default_token_counter() -> Callable[[list[str]], list[int]] | None:
    """Counts tokens as the default base model's tokenizer does; None when that model is not installed."""
    try:
        return token_counter(resolve(settings.DEFAULT_BASE_MODEL, settings.TUNEBASE_BASE_MODELS))
    except UnknownBaseModel:
        logger.warning("base model %s unavailable: token lengths not measured", settings.DEFAULT_BASE_MODEL)
        return None
