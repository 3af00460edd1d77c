"""The organization's overview: the last 30 days of predictions (per day, for a chart), models trained and
deployed, alerts fired, each with a link; nothing of another organization."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import UsageKind, UsageRecord
from inference.models import Alert, Monitor
from tenants.models import Role
from tests.factories import ProjectFactory, dashboard_url, model_version

pytestmark = pytest.mark.usefixtures("own_cache")


def _predicted(tenant, quantity: int, days_ago: int) -> None:
    record = UsageRecord.all_tenants.create(tenant=tenant, kind=UsageKind.PREDICTION, quantity=quantity, source="api")
    UsageRecord.all_tenants.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(days=days_ago))


def _alert(monitor, label: str, days_ago: int, resolved: bool = False) -> Alert:
    end = timezone.now() - timedelta(days=days_ago)
    return Alert.all_tenants.create(
        tenant=monitor.tenant,
        monitor=monitor,
        label=label,
        window_start=end - timedelta(hours=1),
        window_end=end,
        matching=8,
        total=10,
        share=0.8,
        examples=["a customer's own words"],
        resolved_at=end if resolved else None,
    )


def _chart(page: str) -> dict:
    found = re.search(r'<script id="overview-chart-data" type="application/json">(.*?)</script>', page, re.S)
    assert found, "no chart data on the page"
    return json.loads(found.group(1))


def test_the_overview_shows_the_last_30_days(client, tenant, other_tenant, member_of):
    project = ProjectFactory(tenant=tenant, name="Support")
    _predicted(tenant, 70, days_ago=0)
    _predicted(tenant, 30, days_ago=2)
    _predicted(tenant, 5000, days_ago=45)  # before the window
    _predicted(other_tenant, 999, days_ago=1)
    trained = model_version(tenant, project, 1)
    model_version(tenant, project, 2)
    type(trained).all_tenants.filter(pk=trained.pk).update(is_active=True, deployed_at=timezone.now())
    monitor = Monitor.all_tenants.create(tenant=tenant, project=project, name="Mentions")
    _alert(monitor, "outage", days_ago=1)
    _alert(monitor, "billing", days_ago=3, resolved=True)
    _alert(monitor, "ancient", days_ago=40)
    theirs = ProjectFactory(tenant=other_tenant, name="Theirs")
    model_version(other_tenant, theirs, 1)
    _alert(Monitor.all_tenants.create(tenant=other_tenant, project=theirs, name="Their monitor"), "leak", 1)
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(dashboard_url("overview", tenant)).content.decode()

    chart = _chart(page)
    assert len(chart["days"]) == 30 and chart["counts"][-1] == 70 and chart["counts"][-3] == 30
    assert chart["total"] == 100 and "js/overview-chart.js" in page
    assert "2 trained" in page and "1 deployed" in page
    assert "2 fired" in page and "1 open" in page and "outage" in page and "ancient" not in page
    assert dashboard_url("model-list", tenant, project_id=project.pk) in page
    assert dashboard_url("monitor-detail", tenant, project_id=project.pk, monitor_id=monitor.pk) in page
    assert "Theirs" not in page and "leak" not in page and "a customer's own words" not in page


def test_an_organization_with_nothing_yet_sees_empty_states(client, tenant, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(dashboard_url("overview", tenant)).content.decode()

    assert "No predictions in the last 30 days" in page and "overview-chart.js" not in page
    assert "0 trained" in page and "No alert fired in the last 30 days" in page
