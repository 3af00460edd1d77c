"""The dashboard's monitor pages: create a monitor, read its chart and alerts, add and delete rules."""

from __future__ import annotations

import pytest

from inference.models import AlertRule, Monitor
from inference.services import monitors
from tenants.models import Role
from tests.factories import ProjectFactory, dashboard_url


@pytest.fixture
def project(tenant, deploy):
    project = ProjectFactory(tenant=tenant, name="Mentions", use_case="monitoring")
    deploy(project, "full")
    return project


@pytest.fixture
def monitor(tenant, project):
    return monitors.monitor_create(tenant=tenant, project_id=project.pk, name="Reviews")


def page_url(monitor):
    return dashboard_url("monitor-detail", monitor.tenant, project_id=monitor.project_id, monitor_id=monitor.pk)


def rule_url(monitor):
    return dashboard_url("monitor-rule-create", monitor.tenant, project_id=monitor.project_id, monitor_id=monitor.pk)


def test_a_member_creates_a_monitor_from_the_project_page(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)

    response = client.post(dashboard_url("monitor-create", tenant, project_id=project.pk), {"name": "Tickets"})

    monitor = Monitor.objects.for_tenant(tenant).get(name="Tickets")
    assert response.status_code == 302 and response["Location"] == page_url(monitor)
    assert "Tickets" in client.get(dashboard_url("project-detail", tenant, project_id=project.pk)).content.decode()


def test_a_viewer_reads_the_chart_alerts_and_rules_but_gets_no_forms(client, tenant, monitor, member_of):
    rule = monitors.rule_create(tenant=tenant, monitor=monitor, label="food", threshold=0.3, min_events=2)
    monitors.events_post(
        tenant=tenant, monitor=monitor, events=[monitors.PostedEvent("pizza soup"), monitors.PostedEvent("bread")]
    )
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(page_url(monitor)).content.decode()

    assert 'id="monitor-chart-data"' in page and '"food"' in page
    assert "2 events in the last 24 hours" in page
    assert "<strong>food</strong> above 30 %" in page and "firing" in page
    assert "<mark>open</mark>" in page and "pizza soup" in page
    assert "Add rule" not in page and f"rules/{rule.pk}/delete/" not in page


def test_a_member_adds_a_rule_in_percent(client, tenant, monitor, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)

    client.post(rule_url(monitor), {"label": "music", "kind": "share_above", "threshold_percent": "40",
                                    "min_events": "20", "window_minutes": "60"})  # fmt: skip

    rule = AlertRule.objects.for_tenant(tenant).get()
    assert (rule.label, rule.threshold, rule.min_events, rule.window_minutes) == ("music", 0.4, 20, 60)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"label": "music", "threshold_percent": "0"}, "Threshold (%)"),
        ({"label": "weather", "threshold_percent": "40"}, "no label"),
    ],
)
def test_a_bad_rule_is_not_added_and_the_page_says_why(client, tenant, monitor, member_of, fields, message):
    client.force_login(member_of(tenant, Role.MEMBER).user)
    data = {"kind": "share_above", "min_events": "20", "window_minutes": "60", **fields}

    page = client.post(rule_url(monitor), data, follow=True).content.decode()

    assert message in page
    assert not AlertRule.objects.for_tenant(tenant).exists()


def test_a_member_deletes_a_rule_and_a_viewer_cannot(client, tenant, monitor, member_of):
    rule = monitors.rule_create(tenant=tenant, monitor=monitor, label="food", threshold=0.5)
    url = dashboard_url(
        "monitor-rule-delete", tenant, project_id=monitor.project_id, monitor_id=monitor.pk, rule_id=rule.pk
    )

    client.force_login(member_of(tenant, Role.VIEWER).user)
    assert client.post(url).status_code == 403
    client.force_login(member_of(tenant, Role.MEMBER).user)
    assert client.post(url).status_code == 302

    assert not AlertRule.objects.for_tenant(tenant).exists()


def test_another_tenants_member_gets_404_and_anonymous_is_sent_to_log_in(client, other_tenant, monitor, member_of):
    assert client.get(page_url(monitor))["Location"].startswith("/accounts/login/")

    client.force_login(member_of(other_tenant, Role.OWNER).user)

    assert client.get(page_url(monitor)).status_code == 404
    assert client.post(rule_url(monitor), {"label": "food", "threshold_percent": "40"}).status_code == 404


# --- recent events: listed, paged, filtered by label, this tenant's only -----------------------------------


def _events(monitor, n: int, label: str, word: str) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from inference.models import MonitorEvent

    now = timezone.now()
    MonitorEvent.objects.for_tenant(monitor.tenant_id).bulk_create(
        MonitorEvent(
            tenant_id=monitor.tenant_id,
            monitor=monitor,
            occurred_at=now - timedelta(minutes=i),
            text=f"{word} {i:03d} " + "x" * 300,
            label=label,
            score=0.875,
            labels_text=f"|{label}|",
        )
        for i in range(n)
    )


def _texts(page: str) -> set[str]:
    import re

    return set(re.findall(r"(?:pizza|guitar) \d{3}", page))


def test_the_monitor_lists_its_recent_events_page_by_page(client, tenant, member_of):
    plain = ProjectFactory(tenant=tenant, name="Plain", use_case="monitoring")
    monitor = monitors.monitor_create(tenant=tenant, project_id=plain.pk, name="Mentions")
    _events(monitor, 30, "food", "pizza")
    _events(monitor, 3, "music", "guitar")
    client.force_login(member_of(tenant, Role.VIEWER).user)

    first = client.get(page_url(monitor)).content.decode()
    second = client.get(page_url(monitor) + "?page=2").content.decode()
    music = client.get(page_url(monitor) + "?label=music").content.decode()

    assert "pizza 000" in first and "0.88" in first and "x" * 300 not in first  # latest first, text cut short
    assert _texts(first) and _texts(second) and not _texts(first) & _texts(second)
    assert len(_texts(first) | _texts(second)) == 33
    assert _texts(music) == {"guitar 000", "guitar 001", "guitar 002"}


def test_another_tenants_member_cannot_read_the_events(client, tenant, other_tenant, member_of):
    plain = ProjectFactory(tenant=tenant, name="Plain", use_case="monitoring")
    monitor = monitors.monitor_create(tenant=tenant, project_id=plain.pk, name="Mentions")
    _events(monitor, 2, "food", "pizza")
    client.force_login(member_of(other_tenant, Role.OWNER).user)

    response = client.get(page_url(monitor))

    assert response.status_code == 404 and "pizza" not in response.content.decode()
