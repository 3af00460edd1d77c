"""Monitors: events classified and stored, alert rules firing and not firing at their edges, alerts with
evidence sent as webhooks, the label-share series, retention, and who may do what."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import UsageRecord
from inference.models import Alert, AlertRule, MonitorEvent
from inference.services import alerting, monitors
from tests.factories import ProjectFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint

FOOD = "pizza bread cheese soup"
MUSIC = "guitar piano song melody"


@pytest.fixture
def project(tenant, deploy):
    project = ProjectFactory(tenant=tenant, name="Mentions", use_case="monitoring")
    deploy(project, "full")
    return project


@pytest.fixture
def client(tenant, key_client):
    return key_client(tenant)


@pytest.fixture
def monitor(client, project):
    response = client.post("/api/v1/monitors/", {"project_id": str(project.pk), "name": "Reviews"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def post(client, monitor, texts, **fields):
    events = [{"text": t, **fields} for t in texts]
    return client.post(f"/api/v1/monitors/{monitor['id']}/events/", {"events": events}, format="json")


def add_rule(client, monitor, **fields):
    body = {"label": "food", "threshold": 0.4, "min_events": 10, "window_minutes": 60, **fields}
    response = client.post(f"/api/v1/monitors/{monitor['id']}/rules/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- the arithmetic ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "matching", "holds"),
    [(20, 9, True), (20, 8, False), (19, 19, False), (10, 5, True), (100, 40, False)],
    ids=["above", "exactly-at-40%-does-not-fire", "too-few-events", "half", "at-threshold"],
)
def test_share_above_holds_only_strictly_above_with_enough_events(total, matching, holds):
    min_events = 10 if total == 10 else 20
    result = alerting.evaluate("share_above", 0.4, min_events, alerting.Counts(total, matching), was_firing=False)

    assert result.holds is holds and result.fires is holds


def test_a_rule_fires_once_while_its_condition_lasts_and_clears_after():
    counts = alerting.Counts(20, 15)

    again = alerting.evaluate("share_above", 0.4, 20, counts, was_firing=True)
    cleared = alerting.evaluate("share_above", 0.4, 20, alerting.Counts(20, 2), was_firing=True)

    assert again.holds and not again.fires
    assert cleared.clears and not cleared.holds


def test_change_against_the_baseline_needs_a_rise_above_the_threshold():
    rose = alerting.Counts(total=20, matching=12, baseline_total=40, baseline_matching=8)  # 60 % vs 20 %
    flat = alerting.Counts(total=20, matching=6, baseline_total=40, baseline_matching=8)  # 30 % vs 20 %
    thin = alerting.Counts(total=20, matching=12, baseline_total=5, baseline_matching=1)

    assert alerting.evaluate("change_vs_baseline", 0.2, 20, rose, was_firing=False).fires
    assert not alerting.evaluate("change_vs_baseline", 0.2, 20, flat, was_firing=False).holds
    assert not alerting.evaluate("change_vs_baseline", 0.2, 20, thin, was_firing=False).holds


# --- events through the API ----------------------------------------------------------------------------


def test_events_are_classified_stored_and_billed(tenant, client, monitor):
    response = post(client, monitor, [FOOD, MUSIC], source="app-store", metadata={"stars": 2})

    assert response.status_code == 200, response.content
    body = response.json()
    assert [e["label"] for e in body["events"]] == ["food", "music"]
    assert body["alerts"] == []
    stored = MonitorEvent.objects.for_tenant(tenant).order_by("label")
    assert [(e.label, e.source, e.metadata) for e in stored] == [
        ("food", "app-store", {"stars": 2}),
        ("music", "app-store", {"stars": 2}),
    ]
    assert UsageRecord.objects.for_tenant(tenant).get().quantity == 2


@pytest.mark.django_db(transaction=True)
def test_events_and_predictions_posted_at_once_all_succeed(tenant, key_client, monitor, project):
    # Events are stored in the transaction that predicts them; plain predictions write usage beside them.
    statuses: list[int] = []

    def events(api_client) -> None:
        for _ in range(4):
            statuses.append(post(api_client, monitor, [FOOD, MUSIC]).status_code)

    def predictions(api_client) -> None:
        for _ in range(4):
            response = api_client.post(f"/api/v1/projects/{project.pk}/predict/", {"texts": [FOOD]}, format="json")
            statuses.append(response.status_code)

    calls = [(events, key_client(tenant)), (predictions, key_client(tenant, scopes=("predict",)))] * 2
    threads = [threading.Thread(target=f, args=(c,)) for f, c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert statuses == [200] * 16
    assert MonitorEvent.objects.for_tenant(tenant).count() == 16
    assert sum(r.quantity for r in UsageRecord.objects.for_tenant(tenant)) == 16 + 8


def test_a_spike_fires_one_alert_with_evidence_and_a_signed_webhook(tenant, client, monitor):
    WebhookEndpoint.all_tenants.create(tenant=tenant, url="https://example.com/hook", events=["monitor.alert"])
    rule = add_rule(client, monitor)

    quiet = post(client, monitor, [MUSIC] * 6 + [FOOD] * 3).json()  # 9 events: too few to judge
    spike = post(client, monitor, [FOOD] * 3).json()  # 12 events, 6 food: 50 % > 40 %
    more = post(client, monitor, [FOOD] * 2).json()  # still above: no second alert

    assert quiet["alerts"] == [] and more["alerts"] == []
    (alert,) = spike["alerts"]
    assert (alert["label"], alert["matching"], alert["total"], alert["share"]) == ("food", 6, 12, 0.5)
    assert alert["rule_id"] == rule["id"] and alert["examples"][0] == FOOD
    delivery = WebhookDelivery.objects.for_tenant(tenant).get(event_type="monitor.alert")
    assert delivery.payload["data"]["share"] == 0.5
    listed = client.get(f"/api/v1/monitors/{monitor['id']}/alerts/").json()["results"]
    assert [a["id"] for a in listed] == [alert["id"]]
    assert client.get(f"/api/v1/alert-rules/{rule['id']}/").json()["firing"] is True


def test_when_the_share_falls_back_the_alert_resolves_and_the_rule_can_fire_again(tenant, client, monitor):
    add_rule(client, monitor, min_events=4)

    post(client, monitor, [FOOD] * 4)  # 100 %: fires
    post(client, monitor, [MUSIC] * 8)  # 4 of 12: 33 %, clears
    refired = post(client, monitor, [FOOD] * 4).json()  # 8 of 16: 50 %, fires again

    alerts = Alert.objects.for_tenant(tenant).order_by("window_end")
    assert alerts.count() == 2
    assert alerts[0].resolved_at is not None and alerts[1].resolved_at is None
    assert len(refired["alerts"]) == 1


def test_events_outside_the_window_do_not_count(tenant, client, monitor):
    add_rule(client, monitor, min_events=4, window_minutes=30)
    old = (timezone.now() - timedelta(minutes=45)).isoformat()

    post(client, monitor, [FOOD] * 4, time=old)  # fired for its own window, 45 minutes ago
    now = post(client, monitor, [MUSIC] * 4).json()

    assert now["alerts"] == []
    assert AlertRule.objects.for_tenant(tenant).get().firing is False


def test_an_event_from_the_future_is_refused_naming_it(client, monitor):
    future = (timezone.now() + timedelta(hours=2)).isoformat()

    response = client.post(
        f"/api/v1/monitors/{monitor['id']}/events/",
        {"events": [{"text": FOOD}, {"text": MUSIC, "time": future}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "events.1.time"


def test_a_rule_on_a_label_the_model_does_not_know_is_refused(client, monitor):
    response = client.post(
        f"/api/v1/monitors/{monitor['id']}/rules/", {"label": "weather", "threshold": 0.4}, format="json"
    )

    assert response.status_code == 400
    assert "no label 'weather'" in response.json()["error"]["message"]


def test_the_series_counts_labels_per_bucket(client, monitor):
    post(client, monitor, [FOOD, FOOD, MUSIC])

    buckets = client.get(f"/api/v1/monitors/{monitor['id']}/series/?hours=2&bucket=minute").json()["buckets"]

    assert sum(b["total"] for b in buckets) == 3
    assert sum(b["labels"].get("food", 0) for b in buckets) == 2


def test_a_paused_monitor_refuses_events(client, monitor):
    client.patch(f"/api/v1/monitors/{monitor['id']}/", {"is_active": False}, format="json")

    response = post(client, monitor, [FOOD])

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "monitor_paused"


def test_events_past_retention_are_purged(tenant, client, monitor, settings):
    settings.MONITOR_EVENT_RETENTION_DAYS = 7
    post(client, monitor, [FOOD], time=(timezone.now() - timedelta(days=8)).isoformat())
    post(client, monitor, [MUSIC])

    assert monitors.events_purge_expired() == 1
    assert list(MonitorEvent.objects.for_tenant(tenant).values_list("label", flat=True)) == ["music"]


# --- who may do what -----------------------------------------------------------------------------------


def test_anonymous_gets_401(api_client, db):
    assert api_client.get("/api/v1/monitors/").status_code == 401


def test_another_tenant_sees_no_monitor_of_ours(other_tenant, key_client, monitor):
    theirs = key_client(other_tenant)

    assert theirs.get("/api/v1/monitors/").json()["results"] == []
    assert theirs.get(f"/api/v1/monitors/{monitor['id']}/").status_code == 404
    assert post(theirs, monitor, [FOOD]).status_code == 404


def test_a_predict_key_posts_events_but_cannot_change_monitors(tenant, key_client, project, monitor):
    predictor = key_client(tenant, scopes=("predict",))

    assert post(predictor, monitor, [FOOD]).status_code == 200
    assert predictor.post("/api/v1/monitors/", {"project_id": str(project.pk), "name": "X"}).status_code == 403
    assert (
        predictor.post(f"/api/v1/monitors/{monitor['id']}/rules/", {"label": "food", "threshold": 0.5}).status_code
        == 403
    )


def test_a_manage_only_key_cannot_post_events(tenant, key_client, monitor):
    assert post(key_client(tenant, scopes=("manage",)), monitor, [FOOD]).status_code == 403


def test_monitor_names_are_unique_per_tenant(client, project, monitor):
    response = client.post("/api/v1/monitors/", {"project_id": str(project.pk), "name": "Reviews"}, format="json")

    assert response.status_code == 409
