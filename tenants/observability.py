"""The product's Prometheus metrics, defined here (below every app) so that each app can count its own work;
``config.observability`` serves them at ``/metrics`` with the values read at scrape time.

Labels are bounded sets only (route names, methods, status classes, usage sources): never a tenant, a
path with ids, or anything a customer wrote. With ``PROMETHEUS_MULTIPROC_DIR`` set in the environment
before the process starts, prometheus_client keeps these values in files there, shared by the web
server's worker processes; the gauges then sum the live processes' values.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUEST_LATENCY = Histogram(
    "tunebase_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name, method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PREDICTIONS = Counter(
    "tunebase_predictions",
    "Texts predicted and billed, by source (api, monitor, batch).",
    ["source"],
)
MODEL_CACHE_HITS = Counter("tunebase_model_cache_hits", "Model look-ups answered from this process's cache.")
MODEL_CACHE_MISSES = Counter("tunebase_model_cache_misses", "Model look-ups that loaded the model from storage.")
MODEL_CACHE_BYTES = Gauge(
    "tunebase_model_cache_bytes",
    "Bytes of model weights held in the processes' model caches.",
    multiprocess_mode="livesum",
)
MODEL_CACHE_ENTRIES = Gauge(
    "tunebase_model_cache_entries",
    "Model versions loaded in the processes' model caches.",
    multiprocess_mode="livesum",
)


def predictions_count(*, source: str, quantity: int) -> None:
    PREDICTIONS.labels(source=source).inc(quantity)
