"""Every path that runs a model meters and is limited: the predict API, monitor events, batch jobs (per row,
when the job succeeds) and the try-it box (free, with its own rate limit). Quotas at their edges, under
concurrency and across the period's end; paid plans going on into overage; the spend cap and its warnings;
and ``GET /api/v1/usage/`` counting exactly what was done."""

from __future__ import annotations

import io
import threading
import uuid
from datetime import UTC, datetime

import pytest
from django.core.files.storage import default_storage
from django.test import Client, override_settings

from billing.models import Plan, QuotaCounter, ThresholdNotice, UsageRecord
from inference.models import BatchPrediction
from inference.services import batches
from tests.factories import ProjectFactory, subscribe
from webhooks.models import WebhookDelivery, WebhookEndpoint

FOOD = "pizza bread cheese soup"
MUSIC = "guitar piano song melody"


@pytest.fixture(autouse=True)
def _plans(plans, settings):
    settings.PREDICT_RATE_PER_KEY = 0  # rate limits have tests of their own; here they would only get in the way
    settings.PREDICT_RATE_PER_TENANT = 0
    # Rate-limit counters from zero: this test's own key prefix in the shared cache.
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


@pytest.fixture
def project(tenant, deploy):
    project = ProjectFactory(tenant=tenant, name="Support", use_case="monitoring")
    deploy(project, "full")
    return project


@pytest.fixture
def client(tenant, key_client):
    return key_client(tenant)


def free_includes(predictions: int) -> Plan:
    free = Plan.objects.get(code="free")
    free.included_predictions = predictions
    free.save()
    return free


def predict(client, project, n: int = 1):
    texts = [FOOD if i % 2 == 0 else MUSIC for i in range(n)]
    return client.post(f"/api/v1/projects/{project.pk}/predict/", {"texts": texts}, format="json")


def used(tenant, source: str | None = None) -> int:
    records = UsageRecord.objects.for_tenant(tenant).filter(kind="prediction")
    if source:
        records = records.filter(source=source)
    return sum(r.quantity for r in records)


def usage_api(client) -> dict:
    response = client.get("/api/v1/usage/")
    assert response.status_code == 200, response.content
    return response.json()


def predictions_meter(body: dict) -> dict:
    return next(m for m in body["meters"] if m["meter"] == "predictions")


# --- what each path writes ----------------------------------------------------------------------------


def test_37_texts_predicted_move_the_usage_apis_count_by_exactly_37(tenant, project, client):
    before = predictions_meter(usage_api(client))["used"]

    for n in (16, 16, 5):
        assert predict(client, project, n).status_code == 200

    after = usage_api(client)
    assert predictions_meter(after)["used"] - before == 37
    assert predictions_meter(after)["remaining"] == 2000 - 37  # Free includes 2,000
    assert after["range"]["totals"]["predictions"] == 37
    assert after["range"]["by_source"] == {"api": 37}
    assert after["plan"]["code"] == "free"


def test_monitor_events_are_predictions_billed_per_event(tenant, project, client):
    monitor = client.post("/api/v1/monitors/", {"project_id": str(project.pk), "name": "Reviews"}, format="json")
    events = [{"text": FOOD}, {"text": MUSIC}, {"text": FOOD}]

    response = client.post(f"/api/v1/monitors/{monitor.json()['id']}/events/", {"events": events}, format="json")

    assert response.status_code == 200, response.content
    assert used(tenant, "monitor") == 3
    assert predictions_meter(usage_api(client))["used"] == 3


def _batch(client, project, rows: int):
    data = "text\n" + "".join(f"{FOOD} {i}\n" for i in range(rows))
    stream = io.BytesIO(data.encode())
    stream.name = "texts.csv"
    return client.post(f"/api/v1/projects/{project.pk}/batch-predictions/", {"file": stream}, format="multipart")


def test_a_batch_bills_the_rows_it_predicted_when_it_succeeds(tenant, project, client):
    response = _batch(client, project, 7)
    assert response.status_code == 202, response.content
    assert used(tenant) == 0  # nothing until the job is done

    job = batches.batch_run(tenant_id=str(tenant.pk), batch_id=response.json()["id"])

    assert (job.status, job.rows_predicted) == ("succeeded", 7)
    assert used(tenant, "batch") == 7


def test_a_batch_that_fails_bills_nothing(tenant, project, client):
    response = _batch(client, project, 5)
    job = BatchPrediction.objects.for_tenant(tenant).get(pk=response.json()["id"])
    default_storage.delete(job.input_file)  # the input is gone: the job fails

    job = batches.batch_run(tenant_id=str(tenant.pk), batch_id=str(job.pk))

    assert job.status == "failed"
    assert not UsageRecord.objects.for_tenant(tenant).exists()


def test_a_refused_prediction_bills_nothing(tenant, project, client):
    with override_settings(PREDICT_MAX_TEXT_CHARS=5):
        assert predict(client, project, 2).status_code == 413

    assert not UsageRecord.objects.for_tenant(tenant).exists()
    assert not QuotaCounter.objects.for_tenant(tenant).filter(used__gt=0).exists()


# --- Free's quota -----------------------------------------------------------------------------------------


def test_exactly_at_the_limit_passes_and_one_more_is_402_with_the_numbers(tenant, project, client):
    free_includes(10)
    assert predict(client, project, 6).status_code == 200
    assert predict(client, project, 4).status_code == 200  # exactly at the limit

    over = predict(client, project, 1)

    assert over.status_code == 402
    error = over.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert "10 predictions a month" in error["message"] and "2,000" not in error["message"]
    period_end = datetime.now(UTC).replace(day=1)
    reset = (
        period_end.replace(year=period_end.year + 1, month=1)
        if period_end.month == 12
        else period_end.replace(month=period_end.month + 1)
    ).date()
    assert f"resets on {reset.isoformat()}" in error["message"]
    assert error["upgrade_url"].endswith(f"/t/{tenant.slug}/billing/")
    assert error["quota"] == {
        "meter": "predictions",
        "unit": "text",
        "limit": 10,
        "used": 10,
        "requested": 1,
        "resets_at": error["quota"]["resets_at"],
    }
    assert used(tenant) == 10


def test_a_request_that_would_cross_the_limit_is_refused_whole(tenant, project, client):
    free_includes(10)
    assert predict(client, project, 8).status_code == 200

    assert predict(client, project, 3).status_code == 402

    assert used(tenant) == 8
    assert predict(client, project, 2).status_code == 200


def test_monitor_events_and_batches_stop_at_the_quota_too(tenant, project, client):
    free_includes(4)
    monitor = client.post("/api/v1/monitors/", {"project_id": str(project.pk), "name": "Reviews"}, format="json")
    events_url = f"/api/v1/monitors/{monitor.json()['id']}/events/"

    assert client.post(events_url, {"events": [{"text": FOOD}] * 3}, format="json").status_code == 200
    refused = client.post(events_url, {"events": [{"text": FOOD}] * 2}, format="json")
    batch = _batch(client, project, 2)  # one row left: a file of two is refused before it is stored

    assert refused.status_code == 402 and refused.json()["error"]["code"] == "quota_exceeded"
    assert batch.status_code == 402 and batch.json()["error"]["quota"]["requested"] == 2
    assert not BatchPrediction.objects.for_tenant(tenant).exists()
    assert _batch(client, project, 1).status_code == 202
    assert used(tenant) == 3


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_calls_at_the_edge_of_the_quota_never_overshoot(tenant, project, key_client):
    free_includes(10)
    clients = [key_client(tenant) for _ in range(20)]
    statuses: list[int] = []
    start = threading.Barrier(20)

    def call(api_client) -> None:
        start.wait(timeout=60)
        statuses.append(predict(api_client, project, 1).status_code)

    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(statuses) == [200] * 10 + [402] * 10
    assert used(tenant) == 10  # the documented allowance is 0: no overshoot at all
    assert QuotaCounter.objects.for_tenant(tenant).get().used == 10


def test_the_quota_starts_again_with_the_next_period(tenant, project, client, time_machine):
    free_includes(3)
    time_machine.move_to(datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    assert predict(client, project, 3).status_code == 200
    assert predict(client, project, 1).status_code == 402

    time_machine.move_to(datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC))

    assert predict(client, project, 3).status_code == 200
    body = usage_api(client)
    assert body["period"]["start"].startswith("2026-12-01")
    assert predictions_meter(body)["used"] == 3


def test_the_try_it_box_is_free_and_works_past_the_quota_with_its_own_rate_limit(
    tenant, project, client, member_of, settings, time_machine
):
    time_machine.move_to(datetime(2026, 12, 1, 12, 0, 10, tzinfo=UTC))
    free_includes(1)
    assert predict(client, project, 1).status_code == 200
    browser = Client()
    browser.force_login(member_of(tenant, role="viewer").user)
    settings.TRY_BOX_RATE_PER_USER = 2
    try_url = f"/t/{tenant.slug}/projects/{project.pk}/try/"

    codes = [browser.post(try_url, {"text": FOOD}).status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    assert used(tenant) == 1


# --- paid plans -----------------------------------------------------------------------------------------


def test_a_paid_plan_goes_on_past_its_included_amount_and_shows_the_overage(tenant, project, client):
    pro = Plan.objects.get(code="pro")
    pro.included_predictions = 5
    pro.save()
    subscribe(tenant, "pro")

    assert predict(client, project, 8).status_code == 200

    meter = predictions_meter(usage_api(client))
    assert (meter["used"], meter["overage"], meter["limit"], meter["remaining"]) == (8, 3, None, None)


def test_upgrading_lifts_the_quota_at_once(tenant, project, client):
    free_includes(2)
    assert predict(client, project, 2).status_code == 200
    assert predict(client, project, 1).status_code == 402

    subscribe(tenant, "pro")

    assert predict(client, project, 1).status_code == 200


def test_the_spend_cap_stops_at_the_cap_and_warns_at_80_and_100_percent(
    tenant, project, client, mailoutbox, owner, django_capture_on_commit_callbacks
):
    pro = Plan.objects.get(code="pro")
    pro.monthly_price_cents, pro.included_predictions, pro.prediction_overage_cents_per_1000 = 0, 0, 10_000
    pro.save()  # 10 cents a text past none included: a cap of 100 cents is 10 texts
    subscribe(tenant, "pro", spend_cap_cents=100)
    WebhookEndpoint.objects.for_tenant(tenant).create(
        tenant=tenant, url="https://example.com/hook", events=["billing.threshold"]
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert predict(client, project, 7).status_code == 200
        assert not ThresholdNotice.objects.for_tenant(tenant).exists()
        assert predict(client, project, 1).status_code == 200  # 80 %
        assert predict(client, project, 2).status_code == 200  # 100 %
        capped = predict(client, project, 1)

    assert capped.status_code == 402 and capped.json()["error"]["code"] == "spend_cap_reached"
    assert used(tenant) == 10
    notices = ThresholdNotice.objects.for_tenant(tenant).order_by("level")
    assert [(n.meter, n.level) for n in notices] == [("spend", 80), ("spend", 100)]
    deliveries = WebhookDelivery.objects.for_tenant(tenant).filter(event_type="billing.threshold")
    assert sorted(d.payload["data"]["level"] for d in deliveries) == [80, 100]
    assert len([m for m in mailoutbox if "spend cap" in m.subject]) == 2


def test_a_free_tenant_is_warned_once_at_80_percent_of_its_predictions(
    tenant, project, client, mailoutbox, owner, django_capture_on_commit_callbacks
):
    free_includes(10)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            predict(client, project, 3)  # 3, 6, 9: crosses 80 % once

    notices = ThresholdNotice.objects.for_tenant(tenant)
    assert [(n.meter, n.level, n.used, n.limit) for n in notices] == [("prediction", 80, 9, 10)]
    assert [m.to for m in mailoutbox] == [[owner.user.email]]
    assert "80 %" in mailoutbox[0].subject


# --- rate limits on every path that runs a model ----------------------------------------------------------


def test_the_predict_rate_limits_cover_monitor_events_and_batch_jobs(tenant, project, client, settings, time_machine):
    time_machine.move_to(datetime(2026, 12, 1, 12, 0, 10, tzinfo=UTC))  # all three calls in one minute's window
    settings.PREDICT_RATE_PER_KEY = 1
    monitor = client.post("/api/v1/monitors/", {"project_id": str(project.pk), "name": "Reviews"}, format="json")
    events_url = f"/api/v1/monitors/{monitor.json()['id']}/events/"

    first = client.post(events_url, {"events": [{"text": FOOD}]}, format="json")
    second = client.post(events_url, {"events": [{"text": FOOD}]}, format="json")
    batch = _batch(client, project, 1)

    assert (first.status_code, second.status_code, batch.status_code) == (200, 429, 429)


def test_monitor_events_the_model_cannot_take_bill_nothing(tenant, project, client):
    monitor = client.post("/api/v1/monitors/", {"project_id": str(project.pk), "name": "Reviews"}, format="json")

    with override_settings(PREDICT_MAX_TEXT_CHARS=5):
        refused = client.post(
            f"/api/v1/monitors/{monitor.json()['id']}/events/", {"events": [{"text": FOOD}]}, format="json"
        )

    assert refused.status_code == 413
    assert not UsageRecord.objects.for_tenant(tenant).exists()


# --- the usage API ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("granularity=week", "granularity"),
        ("from=2026-12-05&to=2026-12-01", "to"),
    ],
)
def test_the_usage_api_names_the_bad_parameter(client, query, field):
    response = client.get(f"/api/v1/usage/?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == field


def test_the_usage_api_answers_a_range_by_day_or_month_with_any_key(tenant, project, key_client, time_machine):
    reader = key_client(tenant, scopes=("predict",))  # any key reads usage
    writer = key_client(tenant)
    time_machine.move_to(datetime(2026, 11, 20, 12, tzinfo=UTC))
    predict(writer, project, 2)
    time_machine.move_to(datetime(2026, 12, 2, 12, tzinfo=UTC))
    predict(writer, project, 3)

    by_day = reader.get("/api/v1/usage/?from=2026-11-01&to=2026-12-31").json()["range"]
    by_month = reader.get("/api/v1/usage/?from=2026-11-01&to=2026-12-31&granularity=month").json()["range"]

    assert [(s["start"][:10], s["predictions"]) for s in by_day["series"]] == [("2026-11-20", 2), ("2026-12-02", 3)]
    assert [(s["start"][:10], s["predictions"]) for s in by_month["series"]] == [("2026-11-01", 2), ("2026-12-01", 3)]
    assert by_day["totals"] == {"predictions": 5, "training": 0}


def test_the_usage_api_is_in_the_schema_with_an_example(client):
    schema = client.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/usage/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "granularity"}
    examples = operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert next(iter(examples.values()))["value"]["meters"][0]["meter"] == "predictions"
