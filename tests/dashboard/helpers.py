"""Helpers shared by the dashboard tests."""

from __future__ import annotations

from django.urls import reverse

from tenants.models import Tenant


def dashboard_url(name: str, tenant: Tenant, **kwargs: object) -> str:
    return reverse(f"dashboard:{name}", kwargs={"tenant_slug": tenant.slug, **kwargs})
