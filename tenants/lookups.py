"""Short-lived, per-process memory of the hot path's lookups: an API key and a project's served version.

A prediction otherwise spends most of its database time finding the same key and the same version
as the request before it. These caches hold a found row for ``SERVING_LOOKUP_TTL_S`` seconds (0 turns
them off). What changes them (a deploy or rollback, a revoked key, a suspended organization, a
project's settings) clears this process's caches at once and again when its transaction commits;
other processes see the change when their entry expires, so within those few seconds everywhere. Only
rows found are kept: a miss always asks the database again. Each cache keeps at most MAX_ENTRIES rows,
the least recently stored out first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Model

T = TypeVar("T")
MAX_ENTRIES = 10_000

_all: list[LookupCache[object]] = []


class LookupCache(Generic[T]):
    def __init__(self) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()
        _all.append(self)  # type: ignore[arg-type]

    def get(self, key: Hashable, load: Callable[[], T | None]) -> T | None:
        ttl = float(settings.SERVING_LOOKUP_TTL_S)
        if ttl <= 0:
            return load()
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                return entry[1]
        value = load()
        if value is not None:
            with self._lock:
                self._entries[key] = (now + ttl, value)
                self._entries.move_to_end(key)
                while len(self._entries) > MAX_ENTRIES:
                    self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def clear_all() -> None:
    for cache in _all:
        cache.clear()


# Saving or deleting one of these rows (in a service or in the admin) may change a cached lookup. Each
# app names its own models here from its AppConfig.ready() (``watch``), so this module knows none above it.
_watched: set[type[Model]] = set()


def watch(*models: type[Model]) -> None:
    """Forget every cached lookup whenever a row of one of these models is saved or deleted."""
    _watched.update(models)


def on_row_change(sender: type[Model], **kwargs: Any) -> None:
    if sender in _watched:
        changed()


def changed() -> None:
    """Something a cached lookup returns has changed: forget them all in this process, now (for the
    rest of this transaction) and again once it commits (another request may have re-read the old
    row in between)."""
    clear_all()
    transaction.on_commit(clear_all)
