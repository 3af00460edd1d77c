"""Row-level security on PostgreSQL: the second wall holds even when a query forgets its tenant filter.

conftest's autouse fixture turns ``app.bypass_rls`` on for set-up; each test here turns it off itself.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from projects.models import Project
from tenants import db
from tenants.checks import row_level_security_applies
from tenants.models import AuditAction, Tenant
from tenants.services import api_key_create, audit_record
from tests.factories import TenantFactory, UserFactory
from tests.tenants.test_scoping import NOT_TENANT_OWNED

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("row-level security exists on PostgreSQL only")


def tenant_tables() -> list[str]:
    tables = []
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
        if model._meta.label in NOT_TENANT_OWNED:
            continue
        if field is not None and field.related_model is Tenant:
            tables.append(model._meta.db_table)
    return sorted(tables)


TABLES = tenant_tables()


def count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - table names come from the models
        return cursor.fetchone()[0]


def fill(tenant: Tenant) -> None:
    """At least one row of this tenant in every tenant table (bypass is on during set-up)."""
    from billing.models import (
        MeterPush,
        Plan,
        QuotaCounter,
        Reconciliation,
        Subscription,
        ThresholdNotice,
        UsageRecord,
    )
    from inference.models import Alert, AlertRule, BatchPrediction, Feedback, Monitor, MonitorEvent
    from projects.models import Dataset
    from tenants.models import Invitation, Membership
    from training.models import ModelVersion, TrainingRun
    from webhooks.models import WebhookDelivery, WebhookEndpoint

    project = Project.all_tenants.create(tenant=tenant, name=f"Project of {tenant.slug}")
    Membership.all_tenants.create(tenant=tenant, user=UserFactory())
    Invitation.all_tenants.create(
        tenant=tenant, email="x@example.com", token_hash=tenant.slug * 8, expires_at="2100-01-01T00:00Z"
    )
    api_key_create(tenant=tenant, name="k", scopes=["predict"], project=project)
    audit_record(tenant=tenant, action=AuditAction.TENANT_CREATED)
    Dataset.all_tenants.create(
        tenant=tenant, project=project, name="intents.csv", file="x.csv", size_bytes=1, sha256="0" * 64
    )
    run = TrainingRun.all_tenants.create(tenant=tenant, project=project, base_model="minilm-l6")
    ModelVersion.all_tenants.create(
        tenant=tenant, project=project, training_run=run, version=1, base_model="minilm-l6", artifact_path="m"
    )
    endpoint = WebhookEndpoint.all_tenants.create(tenant=tenant, url="https://example.com/hook", events=["*"])
    WebhookDelivery.all_tenants.create(
        tenant=tenant, endpoint=endpoint, event_id="msg_1", event_type="webhook.test", payload={}
    )
    push = MeterPush.all_tenants.create(
        tenant=tenant,
        kind="prediction",
        day="2026-01-01",
        timestamp="2026-01-01T00:00Z",
        quantity=1,
        stripe_customer_id="c",
    )
    UsageRecord.all_tenants.create(tenant=tenant, kind="prediction", quantity=1, project=project, push=push)
    QuotaCounter.all_tenants.create(tenant=tenant, kind="prediction", period_start="2026-01-01T00:00Z", used=1)
    ThresholdNotice.all_tenants.create(
        tenant=tenant, meter="prediction", level=80, period_start="2026-01-01T00:00Z", used=8, limit=10
    )
    Reconciliation.all_tenants.create(tenant=tenant, kind="prediction", day="2026-01-01", ours=1, stripes=1)
    Subscription.all_tenants.create(tenant=tenant, plan=Plan.objects.get(code="free"))
    BatchPrediction.all_tenants.create(
        tenant=tenant, project=project, name="in.csv", input_file="in.csv", size_bytes=1, format="csv", text_column="t"
    )
    monitor = Monitor.all_tenants.create(tenant=tenant, project=project, name="Reviews")
    Feedback.all_tenants.create(tenant=tenant, project=project, text="t", labels=["a"], source="api")
    MonitorEvent.all_tenants.create(
        tenant=tenant, monitor=monitor, occurred_at="2026-01-01T00:00Z", text="t", label="a", score=1, labels_text="|a|"
    )
    rule = AlertRule.all_tenants.create(tenant=tenant, monitor=monitor, label="a", threshold=0.5)
    Alert.all_tenants.create(
        tenant=tenant,
        monitor=monitor,
        rule=rule,
        label="a",
        window_start="2026-01-01T00:00Z",
        window_end="2026-01-01T01:00Z",
        matching=1,
        total=1,
        share=1.0,
    )


@pytest.fixture
def two_tenants(postgres, plans):
    a, b = TenantFactory(slug="tenant-a"), TenantFactory(slug="tenant-b")
    fill(a)
    fill(b)
    # Every table really holds both tenants' rows while bypassing, so a 0 later means RLS hid them.
    # A new tenant table fails here until fill() writes a row to it.
    for table in TABLES:
        assert count(table) >= 2, f"fill() writes no row to {table}"
    db.clear_context()
    return a, b


def test_tenant_tables_are_found():
    assert {"tenants_membership", "tenants_invitation", "tenants_apikey", "tenants_auditevent"} <= set(TABLES)
    assert "projects_project" in TABLES


@pytest.mark.parametrize("table", TABLES)
def test_no_tenant_context_sees_no_rows(two_tenants, table):
    assert count(table) == 0


@pytest.mark.parametrize("table", TABLES)
def test_tenant_context_sees_only_that_tenants_rows(two_tenants, table):
    a, _ = two_tenants

    with db.tenant_context(a.pk), connection.cursor() as cursor:
        cursor.execute(f'SELECT DISTINCT tenant_id FROM "{table}"')  # noqa: S608
        seen = {row[0] for row in cursor.fetchall()}

    assert seen == {a.pk}


def test_unfiltered_orm_query_in_a_tenant_context_sees_only_that_tenant(two_tenants):
    a, _ = two_tenants

    with db.tenant_context(a.pk):
        names = list(Project.all_tenants.values_list("name", flat=True))

    assert names == ["Project of tenant-a"]


def test_context_is_restored_after_a_tenant_context(two_tenants):
    a, _ = two_tenants

    with db.tenant_context(a.pk):
        pass

    assert count("projects_project") == 0


def test_system_context_sees_every_tenant(two_tenants):
    with db.system_context():
        assert count("projects_project") == 2


def test_inserting_a_row_for_another_tenant_fails(two_tenants):
    a, b = two_tenants

    with db.tenant_context(a.pk), pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        Project.all_tenants.create(tenant=b, name="Smuggled")

    with db.system_context():
        assert not Project.all_tenants.filter(name="Smuggled").exists()


def test_moving_a_row_to_another_tenant_fails(two_tenants):
    a, b = two_tenants

    with db.tenant_context(a.pk), pytest.raises(DatabaseError), transaction.atomic():
        Project.all_tenants.filter(tenant=a).update(tenant=b)


def test_updating_another_tenants_rows_touches_nothing(two_tenants):
    a, b = two_tenants

    with db.tenant_context(a.pk):
        updated = Project.all_tenants.filter(tenant=b).update(description="defaced")

    assert updated == 0


def test_a_user_context_sees_only_that_users_memberships(two_tenants):
    from tenants.models import Membership

    a, _ = two_tenants
    with db.system_context():
        user = Membership.all_tenants.filter(tenant=a).get().user

    with db.user_context(user.pk):
        tenants_seen = list(Membership.all_tenants.values_list("tenant_id", flat=True))

    assert tenants_seen == [a.pk]


@pytest.mark.parametrize("table", TABLES)
def test_every_tenant_table_forces_row_level_security(postgres, table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass", [table])
        assert cursor.fetchone() == (True, True)


def test_application_role_does_not_bypass_row_level_security(postgres):
    assert row_level_security_applies(None) == []
