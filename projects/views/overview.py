"""An organization's home page: its projects and people, and the last 30 days: predictions served per day
(billing's usage records), and what the layers above add (models trained and deployed, alerts fired)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone
from django.views.generic import TemplateView

from billing.models import UsageKind
from billing.selectors import usage_daily
from projects import selectors
from tenants.dashboard import TenantView
from tenants.models import Role, Tenant
from tenants.selectors import members_of

RECENT_DAYS = 30

# What the layers above add to the overview (models trained, alerts fired): each registers a function of
# (tenant, since) returning template context, from its AppConfig.ready(), so this app imports none of them.
OverviewSection = Callable[[Tenant, datetime], dict[str, Any]]
_sections: list[OverviewSection] = []


def add_overview_section(section: OverviewSection) -> None:
    if section not in _sections:
        _sections.append(section)


class OverviewView(TenantView, TemplateView):
    template_name = "projects/overview.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        projects = selectors.projects_of(tenant=self.tenant)
        now = timezone.now()
        first_day = (now - timedelta(days=RECENT_DAYS - 1)).date()
        since = datetime.combine(first_day, datetime.min.time(), tzinfo=now.tzinfo)
        predictions = _predictions_per_day(self.tenant, since, now, first_day)
        context.update(
            projects=projects[:10],
            project_count=projects.count(),
            member_count=members_of(tenant=self.tenant).count(),
            can_write=self.membership.has_role(Role.MEMBER),
            recent_days=RECENT_DAYS,
            predictions=predictions,
        )
        for section in _sections:
            context.update(section(self.tenant, since))
        return context


def _predictions_per_day(tenant: Tenant, since: datetime, now: datetime, first_day: date) -> dict[str, Any]:
    """Texts predicted on each of the last RECENT_DAYS days (today included; 0 on a day with none)."""
    rows = usage_daily(tenant_id=tenant.pk, start=since, end=now + timedelta(seconds=1))
    per_day = {row["date"]: row[UsageKind.PREDICTION.value] for row in rows}
    days = [first_day + timedelta(days=i) for i in range(RECENT_DAYS)]
    counts = [per_day.get(day, 0) for day in days]
    return {"days": [day.isoformat() for day in days], "counts": counts, "total": sum(counts)}
