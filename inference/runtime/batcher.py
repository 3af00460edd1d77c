"""Micro-batching across requests: many single-text calls share one forward pass.

On a CPU a batch of 32 texts costs little more than a few single texts, so per-request forwards waste
most of the machine. Request threads tokenize their own texts (the tokenizer releases the GIL), queue
them and wait; one thread per process runs the model. It takes everything queued at once, waiting at
most ``window_s`` after the first arrival for company, groups it by model version and answers each
request with its own rows. Under light load a request waits at most the window; under heavy load the
batches fill by themselves while the previous one runs. One thread running the model also means torch
never oversubscribes the cores from many request threads at once. No Django here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from inference.runtime.classifier import Classifier

logger = logging.getLogger(__name__)


class BatcherTimeout(TimeoutError):
    """The prediction did not finish in time (the process is overloaded)."""


@dataclass
class _Request:
    classifier: Classifier
    token_ids: list[list[int]]
    arrived: float
    done: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None


class MicroBatcher:
    def __init__(self, *, window_s: float = 0.002, max_batch: int = 64, name: str = "tunebase-predict") -> None:
        if window_s < 0 or max_batch < 1:
            raise ValueError("window_s must be >= 0 and max_batch >= 1")
        self.window_s = window_s
        self.max_batch = max_batch
        self._queue: deque[_Request] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._name = name
        self.batches = 0  # forward groups run, for tests and benchmarks
        self.texts = 0

    def predict(self, classifier: Classifier, texts: Sequence[str], timeout_s: float = 60.0) -> np.ndarray:
        """Scores for ``texts`` (one row each), computed together with whatever else is queued."""
        request = _Request(classifier, classifier.tokenize(texts), time.monotonic())
        with self._ready:
            self._ensure_thread()
            self._queue.append(request)
            self._ready.notify()
        if not request.done.wait(timeout_s):
            raise BatcherTimeout(f"prediction did not finish within {timeout_s:g} s")
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def _take(self) -> list[_Request]:
        with self._ready:
            while not self._queue:
                self._ready.wait()
            deadline = self._queue[0].arrived + self.window_s
            while self._pending_texts() < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._ready.wait(left)
            taken = list(self._queue)
            self._queue.clear()
            return taken

    def _pending_texts(self) -> int:
        return sum(len(r.token_ids) for r in self._queue)

    def _run(self) -> None:
        while True:
            requests = self._take()
            groups: dict[int, list[_Request]] = {}
            for request in requests:
                groups.setdefault(id(request.classifier), []).append(request)
            for group in groups.values():
                self._run_group(group)

    def _run_group(self, group: list[_Request]) -> None:
        ids = [row for request in group for row in request.token_ids]
        try:
            scores = group[0].classifier.predict_proba_ids(ids, self.max_batch)
        # Any failure belongs to the requests of this group: each raises it in its own thread.
        except Exception as error:  # noqa: BLE001
            for request in group:
                request.error = error
                request.done.set()
            return
        self.batches += 1
        self.texts += len(ids)
        start = 0
        for request in group:
            request.result = scores[start : start + len(request.token_ids)]
            start += len(request.token_ids)
            request.done.set()
