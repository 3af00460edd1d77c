"""What an operator watches: request ids, JSON log lines without customers' text, ``/metrics``, Sentry."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sentry_sdk
from django.conf import settings as django_settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from config.celery import ping
from config.sentry import before_send
from tenants.logging import JsonFormatter, TenantContextFilter, current_request_id
from tests.config.test_settings import PRODUCTION_SECRET, ROOT, clean_env
from tests.factories import ProjectFactory
from tests.inference.conftest import deploy, tiny_bert, trained  # noqa: F401 - fixtures of the serving tests
from training.models import RunStatus, TrainingRun

TOKEN = "metrics-token-for-the-test-0123456789"
# Words the tiny model knows (tests.factories.separable), and one nobody else would write.
SECRET_TEXT = "pizza bread zanzibar-confidential-phrase"


def predict_url(project: Any) -> str:
    return f"/api/v1/projects/{project.pk}/predict/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings: Any) -> None:
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


@pytest.fixture
def project(tenant: Any) -> Any:
    return ProjectFactory(tenant=tenant, name="Support", use_case="customer_service", confidence_threshold=0.5)


@pytest.fixture
def version(project: Any, request: pytest.FixtureRequest) -> Any:
    """A deployed tiny model of the serving tests (their ``deploy`` fixture)."""
    return request.getfixturevalue("deploy")(project, "full")


@pytest.fixture
def predict_client(tenant: Any, key_client: Callable[..., Any]) -> Any:
    return key_client(tenant, scopes=("predict",))


@pytest.fixture
def json_log() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The log as production writes it (LOG_FORMAT=json): every record of every logger, DEBUG and up."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TenantContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def metrics_on(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- request ids --------------------------------------------------------------------------------------------


def test_every_response_carries_a_new_request_id(db, client):
    first, second = client.get("/healthz"), client.get("/no-such-page")

    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_callers_request_id_is_kept_when_it_is_short_and_safe(db, client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.91:2")["X-Request-ID"] == "lb-7f3a.91:2"


@pytest.mark.parametrize("given", ["x" * 65, "id with spaces", "id\nInjected: header", "<script>", "ümlaut"])
def test_an_unsafe_request_id_is_replaced(db, client, given):
    returned = client.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-ID"]

    assert returned != given
    assert len(returned) == 32


# --- logs -----------------------------------------------------------------------------------------------------


def test_a_prediction_logs_request_id_tenant_and_route_but_none_of_its_text(
    project, version, predict_client, json_log, tenant
):

    ok = predict_client.post(predict_url(project) + "?note=query-string-value", {"texts": [SECRET_TEXT]}, format="json")
    refused = predict_client.post(predict_url(project), {"texts": SECRET_TEXT, "top_k": "x"}, format="json")
    malformed = predict_client.post(
        predict_url(project), data=f'{{"texts": ["{SECRET_TEXT}"', content_type="application/json"
    )

    assert (ok.status_code, refused.status_code, malformed.status_code) == (200, 400, 400)
    lines = json_log()
    written = json.dumps(lines)
    assert "zanzibar" not in written
    assert "query-string-value" not in written
    requests = [line for line in lines if line["logger"] == "tunebase.request"]
    assert [(line["request_id"], line["status"]) for line in requests] == [
        (ok["X-Request-ID"], 200),
        (refused["X-Request-ID"], 400),
        (malformed["X-Request-ID"], 400),
    ]
    first = requests[0]
    assert first["tenant_id"] == str(tenant.pk)
    assert first["method"] == "POST"
    assert first["path"] == predict_url(project)
    assert first["route"] == "project-predict"
    assert first["duration_ms"] > 0
    assert {"time", "level", "message"} <= set(first)
    # Every line written while the request ran says which request it was, and Django's warning after the
    # response also whose.
    assert all(line["request_id"] for line in lines)
    bad_request = [line for line in lines if line["logger"] == "django.request"]
    assert [line["request_id"] for line in bad_request] == [refused["X-Request-ID"], malformed["X-Request-ID"]]
    assert {line["tenant_id"] for line in bad_request} == {str(tenant.pk)}


def test_production_logs_one_json_object_a_line(tmp_path):
    script = (
        "import django, logging; django.setup(); "
        "from tenants.db import tenant_context; "
        "ctx = tenant_context('0c4c1f6e-0000-4000-8000-000000000001'); ctx.__enter__(); "
        "logging.getLogger('tunebase.test').warning('hello %s', 'operator')"
    )
    env = clean_env(tmp_path, SECRET_KEY=PRODUCTION_SECRET)
    env.pop("LOG_FORMAT", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello operator"
    assert line["level"] == "WARNING"
    assert line["logger"] == "tunebase.test"
    assert line["tenant_id"] == "0c4c1f6e-0000-4000-8000-000000000001"
    assert line["request_id"] is None


# --- /metrics -------------------------------------------------------------------------------------------------


def test_metrics_are_not_there_without_a_token_configured(db, client, settings):
    settings.METRICS_TOKEN = None

    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"])
def test_metrics_refuse_a_missing_or_wrong_token(db, client, metrics_on, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_prediction_counts_its_texts_its_latency_and_the_model_cache(
    project, version, predict_client, metrics_on, tenant, django_capture_on_commit_callbacks
):
    before = scrape()

    with django_capture_on_commit_callbacks(execute=True):
        first = predict_client.post(predict_url(project), {"texts": [SECRET_TEXT, "guitar piano"]}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        second = predict_client.post(predict_url(project), {"texts": ["soup"]}, format="json")
    after = scrape()

    assert (first.status_code, second.status_code) == (200, 200)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("tunebase_predictions_total", source="api") == 3
    route = {"route": "project-predict", "method": "POST", "status": "2xx"}
    assert grew("tunebase_http_request_duration_seconds_count", **route) == 2
    assert grew("tunebase_http_request_duration_seconds_sum", **route) > 0
    assert grew("tunebase_model_cache_misses_total") == 1  # the version's first prediction loaded it
    assert grew("tunebase_model_cache_hits_total") == 1
    assert value(after, "tunebase_model_cache_bytes") > 1000
    assert value(after, "tunebase_model_cache_entries") >= 1
    # Label values are route names, methods, status classes and sources: no tenant, path or text.
    label_values = {v for (_, labels) in after for (_, v) in labels}
    for private in (str(tenant.pk), tenant.slug, str(project.pk), "zanzibar", "guitar", predict_url(project)):
        assert not any(private in label for label in label_values), private


def test_metrics_count_training_runs_by_status(project, metrics_on):
    for status in (RunStatus.QUEUED, RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.FAILED):
        TrainingRun.all_tenants.create(tenant=project.tenant, project=project, base_model="tiny", status=status)

    samples = scrape()

    counts = {status: value(samples, "tunebase_training_runs", status=status) for status in RunStatus.values}
    assert counts == {"queued": 2, "running": 1, "succeeded": 0, "failed": 1, "cancelled": 0}


def test_metrics_show_queue_lengths_when_the_broker_is_redis(db, metrics_on):
    samples = scrape()

    queues = {labels for (name, labels) in samples if name == "tunebase_celery_queue_length"}
    if str(django_settings.CELERY_BROKER_URL).startswith("redis"):
        assert queues == {(("queue", q),) for q in ("default", "training", "webhooks")}
    else:  # the filesystem broker: no lengths to read
        assert queues == set()


MULTIPROCESS_WORKER = (
    "import django; django.setup(); from tenants import observability as m; "
    "m.predictions_count(source='api', quantity={n}); m.MODEL_CACHE_BYTES.set({size})"
)
MULTIPROCESS_SCRAPE = (
    "import django; django.setup(); from django.test import RequestFactory; "
    "from config.observability import metrics_view; "
    + MULTIPROCESS_WORKER
    + "; print(metrics_view(RequestFactory().get('/metrics', HTTP_AUTHORIZATION='Bearer {token}')).content.decode())"
)


def test_web_processes_share_their_metrics_through_the_multiprocess_folder(tmp_path):
    """Granian's workers are processes: with PROMETHEUS_MULTIPROC_DIR, any of them answers for all. A process
    that has exited no longer adds its model cache's bytes; its counts stay."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = clean_env(tmp_path, DEBUG="1", PROMETHEUS_MULTIPROC_DIR=str(shared), METRICS_TOKEN=TOKEN)

    def run(script: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    run(MULTIPROCESS_WORKER.format(n=2, size=5000))  # a worker that has since exited
    exposed = run(MULTIPROCESS_SCRAPE.format(n=3, size=7000, token=TOKEN))

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposed)
        for sample in family.samples
    }
    assert value(samples, "tunebase_predictions_total", source="api") == 5
    assert value(samples, "tunebase_model_cache_bytes") == 7000


# --- the request id in Celery tasks -----------------------------------------------------------------------


@pytest.mark.worker
def test_a_task_enqueued_during_a_request_logs_with_its_request_id(transactional_db, celery_worker_process):
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    token = current_request_id.set(request_id)  # as the web middleware does for the request's duration
    try:
        result = ping.delay(time.time())
    finally:
        current_request_id.reset(token)

    assert result.get(timeout=60)["pong"] is True
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [line for line in celery_worker_process.log_path.read_text().splitlines() if result.id in line]
        if any("succeeded" in line for line in lines):
            break
        time.sleep(0.2)
    succeeded = [line for line in lines if "succeeded" in line]
    assert succeeded, lines
    assert f"request_id={request_id}" in succeeded[0]


# --- Sentry ---------------------------------------------------------------------------------------------------


def test_sentry_is_off_without_a_dsn():
    assert not django_settings.SENTRY_DSN
    assert not sentry_sdk.get_client().is_active()


def test_sentry_starts_with_a_dsn_and_sends_no_personal_data(tmp_path):
    script = (
        "import json, django; django.setup(); import sentry_sdk; c = sentry_sdk.get_client(); "
        "print(json.dumps({'active': c.is_active(), 'pii': c.options['send_default_pii'], "
        "'locals': c.options['include_local_variables'], 'body': c.options['max_request_body_size'], "
        "'environment': c.options['environment'], 'release': c.options['release'], "
        "'integrations': sorted(c.integrations)}))"
    )
    env = clean_env(
        tmp_path,
        DEBUG="1",
        SENTRY_DSN="http://public@127.0.0.1:9/1",  # nothing listens there, and nothing is sent
        SENTRY_ENVIRONMENT="staging",
        SENTRY_RELEASE="tunebase@1.2.3",
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["active"] is True
    assert (seen["pii"], seen["locals"], seen["body"]) == (False, False, "never")
    assert (seen["environment"], seen["release"]) == ("staging", "tunebase@1.2.3")
    assert {"django", "celery"} <= set(seen["integrations"])


def test_sentry_events_lose_bodies_cookies_credentials_and_users():
    event = {
        "request": {
            "url": "https://tunebase.example.com/api/v1/projects/p/predict/",
            "method": "POST",
            "data": {"texts": [SECRET_TEXT]},
            "cookies": {"sessionid": "abc"},
            "query_string": "q=private",
            "headers": {"Authorization": "Api-Key secret", "Cookie": "sessionid=abc", "User-Agent": "curl"},
        },
        "user": {"email": "someone@example.com"},
    }
    token = current_request_id.set("req-42")
    try:
        sent = before_send(event, {})
    finally:
        current_request_id.reset(token)

    assert sent["request"] == {
        "url": "https://tunebase.example.com/api/v1/projects/p/predict/",
        "method": "POST",
        "headers": {"User-Agent": "curl"},
    }
    assert "user" not in sent
    assert sent["tags"] == {"request_id": "req-42"}
