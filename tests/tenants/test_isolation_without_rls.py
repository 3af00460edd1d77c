"""The cross-tenant tests (those taking ``other_tenant``) hold with the application's scoping alone: on PostgreSQL
they also run with row-level security off (``[no-rls]``, tests/conftest.py), so that a view that forgot its
tenant filter fails there as it does on SQLite, instead of being hidden by the second wall."""

from __future__ import annotations

import pytest
from django.db import connection

from projects.models import Project
from tenants import db


def test_without_row_level_security_only_the_applications_scoping_separates_tenants(
    request, tenant, other_tenant, row_level_security
):
    Project.all_tenants.create(tenant=other_tenant, name="Theirs")

    with db.tenant_context(tenant.pk):
        unscoped = list(Project.all_tenants.values_list("name", flat=True))
        scoped = list(Project.objects.for_tenant(tenant).values_list("name", flat=True))

    assert scoped == []
    if connection.vendor == "postgresql" and row_level_security:
        assert unscoped == []  # the second wall alone hides their row
    else:
        assert unscoped == ["Theirs"]  # SQLite, or [no-rls]: nothing but for_tenant() stands between tenants
    if connection.vendor == "postgresql":
        assert request.node.callspec.params["row_level_security"] is row_level_security


@pytest.mark.django_db
def test_a_test_without_other_tenant_runs_once_with_row_level_security(request, row_level_security):
    assert row_level_security is True
    assert not hasattr(request.node, "callspec")
