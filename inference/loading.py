"""The web process's side of serving: where a version's files are, which precision it gets, one cache.

Storage holds the artifacts; the runtime needs a local directory. With the local file storage that
is the stored folder itself; with a remote one (S3) the files are copied once into
``INFERENCE_ARTIFACT_DIR/<version id>/`` (written whole or not at all).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import F
from django.utils import timezone

from inference import runtime
from inference.runtime.batcher import MicroBatcher
from inference.runtime.cache import ModelCache
from tenants import db
from tenants import observability as metrics
from training.engine import artifacts
from training.engine.base_models import resolve
from training.models import ModelVersion
from training.signals import ServingChoice

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: ModelCache | None = None
_batcher: MicroBatcher | None = None


def model_cache() -> ModelCache:
    global _cache
    with _lock:
        if _cache is None:
            _cache = ModelCache(settings.INFERENCE_CACHE_MB * 1024 * 1024)
        return _cache


def batcher() -> MicroBatcher:
    global _batcher
    with _lock:
        if _batcher is None:
            if settings.INFERENCE_THREADS:
                import torch

                torch.set_num_threads(settings.INFERENCE_THREADS)
            _batcher = MicroBatcher(window_s=settings.PREDICT_BATCH_WINDOW_MS / 1000)
        return _batcher


def _storage_files(prefix: str) -> list[str]:
    directories, files = default_storage.listdir(prefix)
    found = [f"{prefix}/{name}" for name in files]
    for directory in directories:
        found += _storage_files(f"{prefix}/{directory}")
    return found


def local_artifact_dir(version: ModelVersion) -> Path:
    try:
        stored = Path(default_storage.path(version.artifact_path))
    except NotImplementedError:  # remote storage: no local path
        stored = None
    if stored is not None and (stored / runtime.MANIFEST).is_file():
        return stored
    target = Path(settings.INFERENCE_ARTIFACT_DIR) / str(version.pk)
    if (target / runtime.MANIFEST).is_file():
        return target

    def download(directory: Path) -> None:
        for name in _storage_files(version.artifact_path):
            destination = directory / name.removeprefix(version.artifact_path + "/")
            destination.parent.mkdir(parents=True, exist_ok=True)
            with default_storage.open(name, "rb") as source, destination.open("wb") as out:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    out.write(chunk)

    return artifacts.write_dir_atomically(target, download)


def serving_precision(version: ModelVersion) -> str:
    if settings.INFERENCE_PRECISION == "fp32" or version.serving_precision != runtime.BF16:
        return runtime.FP32
    if settings.INFERENCE_DEVICE != "cpu" or runtime.bf16_supported():
        return runtime.BF16
    return runtime.FP32


def classifier_for(version: ModelVersion) -> runtime.Classifier:
    """The loaded classifier of this version, from this process's cache (loaded on first use)."""

    loaded = False

    def load(bases: runtime.BasePool) -> runtime.Classifier:
        nonlocal loaded
        loaded = True
        base_path = None
        if version.method != "full":
            base_path = resolve(version.base_model, settings.TUNEBASE_BASE_MODELS).path
        return runtime.load(
            local_artifact_dir(version),
            precision=serving_precision(version),
            device=settings.INFERENCE_DEVICE,
            base_model_path=base_path,
            bases=bases,
        )

    cache = model_cache()
    classifier = cache.get(str(version.pk), load)
    if loaded:  # a load (and perhaps evictions): the bytes held changed
        metrics.MODEL_CACHE_MISSES.inc()
        stats = cache.stats()
        metrics.MODEL_CACHE_BYTES.set(stats.bytes)
        metrics.MODEL_CACHE_ENTRIES.set(stats.entries)
    else:
        metrics.MODEL_CACHE_HITS.inc()
    return classifier


def warm_up(version: ModelVersion) -> threading.Thread:
    """Load a just-deployed version into this process's cache in the background, so that its first
    prediction does not wait for the load. Other web processes load it within
    ``INFERENCE_WARM_INTERVAL_S`` (``start_warmer``)."""

    thread = threading.Thread(target=_warm, args=(version,), name=f"warm-up-{version.pk}", daemon=True)
    thread.start()
    return thread


def on_model_deployed(sender: object, *, version: ModelVersion, **kwargs: Any) -> None:
    """``training.signals.model_deployed``: warm the version up in this process."""
    warm_up(version)


def on_artifact_trained(sender: object, *, artifact_dir: str, base_model_path: str, **kwargs: Any) -> ServingChoice:
    """``training.signals.artifact_trained``: serve in bf16 when it agrees with fp32 on the run's own
    validation texts (``runtime.parity_check``), else in fp32."""
    parity = runtime.parity_check(artifact_dir, precision=runtime.BF16, base_model_path=base_model_path)
    return ServingChoice(precision=runtime.BF16 if parity.passed else runtime.FP32, parity=parity.as_dict())


def _warm(version: ModelVersion) -> None:
    try:
        # One short text too: the first forward compiles the packed forward and its kernels.
        classifier_for(version).predict_proba(["warm-up"])
    except Exception:
        logger.warning("warm-up of model version %s failed", version.pk, exc_info=True)


def warm_deployed(*, since: datetime | None = None, limit: int | None = None) -> datetime:
    """Load into this process's cache, and run once, the active versions deployed after ``since``
    (with None, the ``limit`` most recently deployed), oldest first: where they do not all fit, the
    cache keeps the newest. Returns the ``since`` of the next call (strictly after: a version evicted
    since is not loaded again every round)."""
    started = timezone.now()
    with db.system_context():  # every tenant's versions: this process serves them all
        versions = ModelVersion.all_tenants.filter(is_active=True).defer("metrics")
        if since is not None:
            versions = versions.filter(deployed_at__gt=since)
        found = list(versions.order_by(F("deployed_at").desc(nulls_last=True))[:limit])
    cache = model_cache()
    for version in reversed(found):
        if str(version.pk) not in cache:
            _warm(version)
    return max((v.deployed_at for v in found if v.deployed_at is not None), default=since or started)


def start_warmer(*, limit: int, interval_s: float) -> threading.Thread:
    """A web process's background thread: at start it loads the ``limit`` most recently deployed
    versions, so that the process's first requests do not each wait seconds for a load; then, every
    ``interval_s``, whatever was deployed since, so that a deploy or rollback made anywhere (a
    dashboard in another process, a training run's auto-deploy on a worker) is warm here too."""

    def run() -> None:
        since: datetime | None = None
        while True:
            try:
                since = warm_deployed(since=since, limit=limit if since is None else None)
            except Exception:  # the database away for a moment: try again at the next round
                logger.warning("model warm-up could not read the deployed versions", exc_info=True)
            finally:
                connection.close()  # this thread's own connection: not held between rounds
            time.sleep(interval_s)

    thread = threading.Thread(target=run, name="tunebase-model-warmer", daemon=True)
    thread.start()
    return thread
