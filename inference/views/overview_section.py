"""What serving adds to the organization's overview: models trained and deployed, and alerts fired, since
a date (registered from InferenceConfig.ready(); the overview, in projects, imports nothing above it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inference import selectors
from tenants.models import Tenant

SHOWN = 10


def overview_section(tenant: Tenant, since: datetime) -> dict[str, Any]:
    versions = selectors.versions_since(tenant=tenant, since=since)
    alerts = selectors.alerts_since(tenant=tenant, since=since)
    return {
        "recent_models": {
            "trained": versions.count(),
            "deployed": selectors.deployed_since(tenant=tenant, since=since).count(),
            "latest": list(versions[:SHOWN]),
        },
        "recent_alerts": {
            "fired": alerts.count(),
            "open": alerts.filter(resolved_at__isnull=True).count(),
            "latest": list(alerts[:SHOWN]),
        },
    }
