"""Tenant scoping is structural: these tests fail when a model, a view or a query steps around it."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from projects.models import Project
from tenants.api.base import TenantModelViewSet, TenantScopedMixin
from tenants.authentication import ApiKeyPrincipal
from tenants.scoping import TenantManager, TenantScopeError
from tests.factories import ProjectFactory, make_api_key

ROOT = Path(__file__).resolve().parents[2]


# Models that name a tenant without belonging to one, and why.
NOT_TENANT_OWNED = {
    # Stripe's events come for the whole account, are stored before their tenant is known, and are read
    # only by the system task that applies them and by operators; the tenant is noted where found.
    "billing.StripeEvent",
}


def tenant_owned_models() -> list[type[models.Model]]:
    tenant_model = apps.get_model("tenants", "Tenant")
    return [
        model
        for model in apps.get_models()
        if any(f.name == "tenant" and f.related_model is tenant_model for f in model._meta.concrete_fields)
        and model._meta.label not in NOT_TENANT_OWNED
    ]


TENANT_MODELS = tenant_owned_models()


def test_the_tenant_owned_models_are_found():
    names = {m._meta.label for m in TENANT_MODELS}

    assert {"tenants.Membership", "tenants.Invitation", "tenants.ApiKey", "tenants.AuditEvent"} <= names
    assert "projects.Project" in names


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.label)
def test_objects_is_a_tenant_manager(model):
    assert isinstance(model.objects, TenantManager)


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.label)
def test_default_manager_is_the_explicit_all_tenants(model):
    # Cascades, the admin and migrations use the default manager; it must be the one named for that.
    assert model._default_manager is model.all_tenants


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.label)
@pytest.mark.parametrize(
    "query",
    [
        pytest.param(lambda m: m.objects.all(), id="all"),
        pytest.param(lambda m: m.objects.filter(pk=None), id="filter"),
        pytest.param(lambda m: m.objects.get(pk=None), id="get"),
        pytest.param(lambda m: m.objects.exclude(pk=None), id="exclude"),
        pytest.param(lambda m: m.objects.count(), id="count"),
        pytest.param(lambda m: m.objects.first(), id="first"),
    ],
)
def test_unscoped_query_raises(model, query):
    with pytest.raises(TenantScopeError):
        query(model)


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.label)
@pytest.mark.parametrize("tenant_value", [None, ""])
def test_for_tenant_without_a_tenant_raises(model, tenant_value):
    with pytest.raises(TenantScopeError):
        model.objects.for_tenant(tenant_value)


@pytest.mark.django_db
def test_for_tenant_returns_only_that_tenants_rows(tenant, other_tenant):
    mine = Project.all_tenants.create(tenant=tenant, name="Mine")
    Project.all_tenants.create(tenant=other_tenant, name="Theirs")

    assert list(Project.objects.for_tenant(tenant)) == [mine]
    assert list(Project.objects.for_tenant(tenant.pk)) == [mine]
    assert list(Project.objects.for_tenant(str(tenant.pk))) == [mine]


# --- no product code steps around the scoped manager ---------------------------------------------------

BYPASS_ATTRIBUTES = {"all_tenants", "_default_manager", "_base_manager"}
PRODUCT_PACKAGES = ["config", "tenants", "webhooks", "projects", "training", "inference", "billing"]

# (file, enclosing function, expression, why it may read or write across tenants): one entry per occurrence,
# so a second unscoped query in an allowed function fails the scan, even one written the same way. The
# expression is the source text up to the manager and the method called on it.
_NEW_ROW = "creates a row for the tenant it is given"
_METER_PUSH = "the usage pusher sends every tenant's usage to Stripe"
_RECONCILE = "the daily reconciliation checks every tenant with Stripe"
ALLOWED_BYPASSES: list[tuple[str, str, str, str]] = [
    ("tenants/services/audit.py", "audit_record", "AuditEvent.all_tenants.create", _NEW_ROW),
    (
        "tenants/services/organizations.py",
        "tenant_create",
        "Membership.all_tenants.create",
        "creates the owner's membership of the new tenant",
    ),
    ("tenants/services/members.py", "invitation_create", "Invitation.all_tenants.create", _NEW_ROW),
    (
        "tenants/services/members.py",
        "invitation_by_token",
        "Invitation.all_tenants.select_related",
        "the token is the credential; looked up in system context",
    ),
    (
        "tenants/services/members.py",
        "invitation_accept",
        "Membership.all_tenants.create",
        "creates the membership in the invitation's tenant",
    ),
    (
        "tenants/services/api_keys.py",
        "api_key_authenticate.load",
        "ApiKey.all_tenants.select_related",
        "the key names its tenant; looked up by prefix",
    ),
    (
        "tenants/selectors.py",
        "memberships_of_user",
        "Membership.all_tenants.filter",
        "a user's own memberships across tenants (RLS allows)",
    ),
    ("projects/services/projects.py", "project_create", "Project.all_tenants.create", _NEW_ROW),
    ("training/services/runs.py", "run_create", "TrainingRun.all_tenants.create", _NEW_ROW),
    (
        "training/services/worker.py",
        "run_succeed",
        "ModelVersion.all_tenants.create",
        "creates the model version in the run's tenant",
    ),
    *[
        (
            "training/services/queue.py",
            "dispatch_queued_runs",
            "TrainingRun.all_tenants.filter",
            "the dispatcher shares workers fairly across tenants",
        )
    ]
    * 2,
    (
        "training/services/queue.py",
        "sweep_stale_runs",
        "TrainingRun.all_tenants.select_for_update",
        "the sweeper finds silent runs of every tenant",
    ),
    *[
        (
            "webhooks/services/delivery.py",
            "deliveries_due_for_dispatch",
            expression,
            "the periodic sender finds due deliveries of every tenant",
        )
        for expression in ("WebhookDelivery.all_tenants.select_for_update", "WebhookDelivery.all_tenants.filter")
    ],
    *[
        (
            "training/selectors.py",
            "queue_positions",
            "TrainingRun.all_tenants.filter",
            "counts runs waiting ahead, of all tenants (a number only)",
        )
    ]
    * 2,
    ("billing/services/usage.py", "usage_record", "UsageRecord.all_tenants.create", _NEW_ROW),
    (
        "config/observability.py",
        "_training_runs",
        "TrainingRun.all_tenants.order_by",
        "the metrics count runs by state across every tenant (numbers only, for operators)",
    ),
    (
        "billing/services/usage.py",
        "_count",
        "QuotaCounter.all_tenants.create",
        "creates the period's counter for the tenant it is given",
    ),
    (
        "billing/services/usage.py",
        "_warn_if_crossed",
        "ThresholdNotice.all_tenants.create",
        "creates a notice for the tenant it is given",
    ),
    (
        "billing/services/usage.py",
        "counters_reset",
        "QuotaCounter.all_tenants.filter",
        "a plan's change drops the counters of every tenant on it",
    ),
    *[
        ("billing/services/meter_push.py", function, expression, _METER_PUSH)
        for function, expression in (
            ("usage_resend", "MeterPush.all_tenants.filter"),
            ("_customers", "Subscription.all_tenants.exclude"),
            ("_settle", "UsageRecord.all_tenants.filter"),
            ("_group", "UsageRecord.all_tenants.select_for_update"),
            ("_group", "Subscription.all_tenants.filter"),
            ("_push_create", "MeterPush.all_tenants.create"),
            ("_push_create", "UsageRecord.all_tenants.filter"),
            ("_send_due", "MeterPush.all_tenants.filter"),
            ("_send_due", "MeterPush.all_tenants.filter"),
            ("_mark_sent", "MeterPush.all_tenants.filter"),
            ("_mark_sent", "UsageRecord.all_tenants.filter"),
            ("_retry_later", "MeterPush.all_tenants.filter"),
        )
    ],
    *[
        ("billing/services/reconcile.py", function, expression, _RECONCILE)
        for function, expression in (
            ("usage_reconcile", "Subscription.all_tenants.exclude"),
            ("_ours", "MeterPush.all_tenants.filter"),
            ("_store", "Reconciliation.all_tenants.update_or_create"),
        )
    ],
    (
        "billing/services/stripe_events.py",
        "_tenant_id_of_customer",
        "Subscription.all_tenants.filter",
        "a Stripe event names a customer, not a tenant: found by its customer id",
    ),
    (
        "inference/services/monitors.py",
        "events_purge_expired",
        "MonitorEvent.all_tenants.filter",
        "retention applies to every tenant's old events",
    ),
    (
        "inference/loading.py",
        "warm_deployed",
        "ModelVersion.all_tenants.filter",
        "a web process serves every tenant: it loads their deployed models",
    ),
    (
        "tenants/api/base.py",
        "TenantScopedMixin.get_queryset",
        "self.model.all_tenants.none",
        "an empty queryset for schema generation, where no key exists",
    ),
]
ALLOWED_FILES = {
    "admin.py": "operators see every tenant",
}
ALLOWED_DIRECTORIES = {
    "migrations": "schema and data migrations span tenants",
    "management/commands": "operators' commands span tenants",
}


Bypass = tuple[str, str, str]  # (file, enclosing qualname, expression)


def _bypasses_in(path: Path) -> list[tuple[str, str, int]]:
    """(enclosing qualname, expression, line) of each attribute access that reaches an unscoped manager; the
    expression is the source up to the manager, and the method called on it if any."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, scope: list[str], parent: ast.AST | None) -> None:
        if isinstance(node, ast.Attribute) and node.attr in BYPASS_ATTRIBUTES:
            expression = ast.unparse(node)
            if isinstance(parent, ast.Attribute) and parent.value is node:
                expression += f".{parent.attr}"
            found.append((".".join(scope) or "<module>", expression, node.lineno))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            scope = [*scope, node.name]
        for child in ast.iter_child_nodes(node):
            visit(child, scope, node)

    visit(tree, [], None)
    return found


def _allowed_wholesale(relative: str) -> bool:
    if Path(relative).name in ALLOWED_FILES:
        return True
    return any(f"/{directory}/" in f"/{relative}" for directory in ALLOWED_DIRECTORIES)


def _unallowed(found: list[tuple[Bypass, int]], allowed: Counter[Bypass]) -> list[str]:
    """Where the found bypasses exceed the allow-list, as ``file:line in qualname: expression``."""
    left = Counter(allowed)
    offenders = []
    for (relative, qualname, expression), line in found:
        if _allowed_wholesale(relative):
            continue
        if left[(relative, qualname, expression)] > 0:
            left[(relative, qualname, expression)] -= 1
        else:
            offenders.append(f"{relative}:{line} in {qualname}: {expression}")
    return offenders


ALLOWED = Counter((relative, qualname, expression) for relative, qualname, expression, _ in ALLOWED_BYPASSES)


def product_files() -> list[Path]:
    return sorted(p for package in PRODUCT_PACKAGES for p in (ROOT / package).rglob("*.py"))


def _found_in_product() -> list[tuple[Bypass, int]]:
    return [
        ((path.relative_to(ROOT).as_posix(), qualname, expression), line)
        for path in product_files()
        for qualname, expression, line in _bypasses_in(path)
    ]


def test_product_code_reaches_unscoped_managers_only_where_allowed():
    offenders = _unallowed(_found_in_product(), ALLOWED)

    assert offenders == [], "Use Model.objects.for_tenant(tenant), or add the case to ALLOWED_BYPASSES with why."


def test_every_allowed_bypass_still_exists():
    # A stale entry would silently allow a future query of the same shape.
    present = Counter(bypass for bypass, _ in _found_in_product())

    assert ALLOWED - present == Counter()


def test_every_allowed_bypass_says_why():
    assert all(reason.strip() for *_, reason in ALLOWED_BYPASSES)


def test_the_scan_catches_a_view_that_bypasses_scoping(tmp_path):
    view = tmp_path / "views.py"
    view.write_text(
        "class Leaky:\n    def get_queryset(self):\n        return Project.all_tenants.filter(name='x')\n"
        "def other():\n    return Project._default_manager.all()\n"
    )

    found = _bypasses_in(view)

    assert found == [
        ("Leaky.get_queryset", "Project.all_tenants.filter", 3),
        ("other", "Project._default_manager.all", 5),
    ]
    assert _unallowed([(("projects/api/views.py", q, e), line) for q, e, line in found], ALLOWED) == [
        "projects/api/views.py:3 in Leaky.get_queryset: Project.all_tenants.filter",
        "projects/api/views.py:5 in other: Project._default_manager.all",
    ]


def test_a_second_unscoped_query_in_an_allowed_function_is_caught(tmp_path):
    usage = tmp_path / "usage.py"
    usage.write_text(
        "def _count(tenant):\n"
        "    QuotaCounter.all_tenants.create(tenant=tenant)\n"
        "    return QuotaCounter.all_tenants.filter(meter='prediction').count()\n"
        "def _warn_if_crossed(tenant):\n"
        "    ThresholdNotice.all_tenants.create(tenant=tenant)\n"
        "    ThresholdNotice.all_tenants.create(tenant=tenant)\n"
    )
    found = [(("billing/services/usage.py", q, e), line) for q, e, line in _bypasses_in(usage)]

    assert _unallowed(found, ALLOWED) == [
        "billing/services/usage.py:3 in _count: QuotaCounter.all_tenants.filter",
        "billing/services/usage.py:6 in _warn_if_crossed: ThresholdNotice.all_tenants.create",
    ]


def test_admin_modules_migrations_and_commands_are_allowed_wholesale():
    assert _allowed_wholesale("billing/admin.py")
    assert _allowed_wholesale("billing/migrations/0002_plans.py")
    assert _allowed_wholesale("config/management/commands/seed_demo.py")
    assert not _allowed_wholesale("billing/services/usage.py")


# --- every API view inherits the scoping base ------------------------------------------------------------


def _api_views(patterns, prefix: str = "") -> list[tuple[str, type]]:
    views = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            views += _api_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.lstrip("^").startswith("api/v1/"):
            views.append((route, getattr(pattern.callback, "cls", None)))
    return views


API_VIEWS = _api_views(get_resolver().url_patterns)


def test_api_views_are_found():
    assert any("projects" in route for route, _ in API_VIEWS)


@pytest.mark.parametrize(("route", "view"), API_VIEWS, ids=[route for route, _ in API_VIEWS])
def test_every_api_view_inherits_the_tenant_scoped_mixin(route, view):
    assert view is not None, f"{route} is not a DRF view"
    assert issubclass(view, APIView)
    assert issubclass(view, TenantScopedMixin), f"{route}: {view.__name__} must inherit TenantScopedMixin"


@pytest.mark.parametrize(("route", "view"), API_VIEWS, ids=[route for route, _ in API_VIEWS])
def test_no_api_view_overrides_get_queryset(route, view):
    owners = [klass for klass in view.__mro__ if "get_queryset" in klass.__dict__]

    assert owners[0] is TenantScopedMixin


def test_defining_get_queryset_on_a_subclass_raises_type_error():
    with pytest.raises(TypeError, match="must not override get_queryset"):

        class Leaky(TenantModelViewSet):
            model = Project

            def get_queryset(self):
                return Project.all_tenants.all()


@pytest.mark.django_db
def test_defining_refine_queryset_is_allowed_and_narrows_only_within_the_tenant(tenant, other_tenant):
    class Narrowed(TenantModelViewSet):
        model = Project
        project_field = "pk"

        def refine_queryset(self, queryset):
            return queryset.filter(multi_label=True)

    mine = ProjectFactory(tenant=tenant, name="Mine, multi-label", multi_label=True)
    ProjectFactory(tenant=tenant, name="Mine, single-label", multi_label=False)
    ProjectFactory(tenant=other_tenant, name="Theirs, multi-label", multi_label=True)
    api_key, _ = make_api_key(tenant)
    view = Narrowed()
    view.request = SimpleNamespace(user=ApiKeyPrincipal(api_key=api_key))

    assert list(view.get_queryset()) == [mine]
