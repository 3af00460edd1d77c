"""The per-process cache of loaded model versions: least recently used out first, bounded by bytes.

Keyed by model version id, so a deploy or rollback needs no invalidation: the next request resolves
the project's active version in the database and asks for that key. Adapter versions hold a few
hundred KB each over an encoder their ``BasePool`` shares; a shared encoder counts against the bound
too, and goes when the last version using it is evicted. No Django here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from inference.runtime.classifier import BasePool, Classifier


@dataclass(frozen=True)
class CacheStats:
    entries: int
    bytes: int
    bases: int
    hits: int
    misses: int
    evictions: int


class ModelCache:
    def __init__(self, max_bytes: int, bases: BasePool | None = None) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.max_bytes = max_bytes
        self.bases = bases if bases is not None else BasePool()
        self._entries: OrderedDict[str, Classifier] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self._hits = self._misses = self._evictions = 0

    def get(self, key: str, load: Callable[[BasePool], Classifier]) -> Classifier:
        """The cached classifier for ``key``, loading it with ``load(bases)`` on a miss (once per key)."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self._hits += 1
                return found
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:  # a second request for the same cold key waits for the first load
            with self._lock:
                found = self._entries.get(key)
                if found is not None:
                    self._hits += 1
                    return found
                self._misses += 1
            classifier = load(self.bases)
            with self._lock:
                self._entries[key] = classifier
                self._entries.move_to_end(key)
                self._loading.pop(key, None)
                self._evict(keep=key)
            return classifier

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._entries

    def _in_use(self) -> set[int]:
        return {id(c.shared_base) for c in self._entries.values() if c.shared_base is not None}

    def _release_bases(self) -> None:
        self.bases.drop_unused(self._in_use())

    def _total(self) -> int:
        return sum(c.nbytes for c in self._entries.values()) + self.bases.nbytes

    def _evict(self, keep: str) -> None:
        # The newest entry stays even when it alone is over the bound: the request needs it now.
        while self._total() > self.max_bytes and len(self._entries) > 1:
            oldest = next(iter(self._entries))
            if oldest == keep:
                break
            del self._entries[oldest]
            self._evictions += 1
            self._release_bases()

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                entries=len(self._entries),
                bytes=self._total(),
                bases=len(self.bases),
                hits=self._hits,
                misses=self._misses,
                evictions=self._evictions,
            )
