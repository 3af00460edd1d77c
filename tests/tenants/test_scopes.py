"""API key scopes: every operation under /api/v1/ against every scope set, and the stored texts a key
without ``read`` used to see.

``REQUIRED`` is the reviewed list of what each operation needs. An endpoint added without an entry here
fails ``test_every_api_operation_has_a_reviewed_scope``; one whose view demands something else fails the
matrix; the OpenAPI document must say the same.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from inference.models import Alert, Feedback, FeedbackSource, Monitor
from tenants.models import ApiKey
from tests.factories import ProjectFactory, dashboard_url, make_api_key
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

READ, PREDICT, MANAGE, ANY_KEY = "read", "predict", "manage", None

# (URL name, method) -> the scope the operation needs; ANY_KEY: any valid key.
REQUIRED: dict[tuple[str, str], str | None] = {
    ("project-predict", "POST"): PREDICT,
    ("project-list", "GET"): READ,
    ("project-list", "POST"): MANAGE,
    ("project-detail", "GET"): READ,
    ("project-detail", "PATCH"): MANAGE,
    ("project-detail", "DELETE"): MANAGE,
    ("project-datasets", "GET"): READ,
    ("project-datasets", "POST"): MANAGE,
    ("project-datasets-preview", "POST"): MANAGE,
    ("dataset-detail", "GET"): READ,
    ("dataset-detail", "DELETE"): MANAGE,
    ("dataset-fix", "POST"): MANAGE,
    ("webhook-list", "GET"): READ,
    ("webhook-list", "POST"): MANAGE,
    ("webhook-detail", "GET"): READ,
    ("webhook-detail", "PATCH"): MANAGE,
    ("webhook-detail", "DELETE"): MANAGE,
    ("webhook-test", "POST"): MANAGE,
    ("webhook-deliveries", "GET"): READ,
    ("webhook-rotate-secret", "POST"): MANAGE,
    ("project-training-runs", "GET"): READ,
    ("project-training-runs", "POST"): MANAGE,
    ("training-run-detail", "GET"): READ,
    ("training-run-cancel", "POST"): MANAGE,
    ("project-models", "GET"): READ,
    ("model-version-detail", "GET"): READ,
    ("model-version-deploy", "POST"): MANAGE,
    ("model-version-download", "GET"): READ,
    ("project-batch-predictions", "GET"): READ,
    ("project-batch-predictions", "POST"): PREDICT,
    ("batch-prediction-detail", "GET"): READ,
    ("batch-prediction-results", "GET"): READ,
    ("project-feedback", "GET"): READ,
    ("project-feedback", "POST"): PREDICT,
    ("monitor-list", "GET"): READ,
    ("monitor-list", "POST"): MANAGE,
    ("monitor-detail", "GET"): READ,
    ("monitor-detail", "PATCH"): MANAGE,
    ("monitor-detail", "DELETE"): MANAGE,
    ("monitor-events", "POST"): PREDICT,
    ("monitor-alerts", "GET"): READ,
    ("monitor-series", "GET"): READ,
    ("monitor-rules", "GET"): READ,
    ("monitor-rules", "POST"): MANAGE,
    ("alert-rule-detail", "GET"): READ,
    ("alert-rule-detail", "DELETE"): MANAGE,
    # Billing needs the numbers whatever the key: usage holds counts, no stored texts.
    ("usage", "GET"): ANY_KEY,
}

SCOPE_SETS = [(READ,), (PREDICT,), (MANAGE,), (READ, PREDICT)]
HANDLER_METHODS = ("get", "post", "put", "patch", "delete")


def _api_patterns() -> Iterator[URLPattern]:
    def walk(patterns: list[Any]) -> Iterator[URLPattern]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            else:
                yield pattern

    api = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and str(p.pattern) == "api/v1/")
    yield from walk(api.url_patterns)


def _methods(pattern: URLPattern) -> list[str]:
    callback: Any = pattern.callback
    view_class = callback.cls if hasattr(callback, "cls") else callback.view_class
    allowed = set(view_class.http_method_names)
    actions = getattr(callback, "actions", None)
    candidates = actions.keys() if actions else [m for m in HANDLER_METHODS if hasattr(view_class, m)]
    return sorted(m.upper() for m in candidates if m in allowed and m in HANDLER_METHODS)


def api_operations() -> list[tuple[str, str, str]]:
    """(URL name, method, a URL of it with made-up ids) for every operation routed under /api/v1/."""
    found = []
    for pattern in _api_patterns():
        assert pattern.name, f"unnamed API route {pattern.pattern}"
        kwargs = {name: str(uuid.uuid4()) for name in pattern.pattern.regex.groupindex}
        url = reverse(pattern.name, kwargs=kwargs)
        found.extend((pattern.name, method, url) for method in _methods(pattern))
    return found


def granted(scopes: tuple[str, ...]) -> set[str]:
    return set(scopes) | ({READ} if MANAGE in scopes else set())


def test_every_api_operation_has_a_reviewed_scope():
    routed = {(name, method) for name, method, _ in api_operations()}

    assert len(routed) > 40, "the walk lost the API's routes"
    assert sorted(routed - REQUIRED.keys()) == [], "operations without an entry in REQUIRED: decide their scope"
    assert sorted(REQUIRED.keys() - routed) == [], "stale entries in REQUIRED"


@pytest.mark.parametrize("scopes", SCOPE_SETS, ids="+".join)
def test_each_operation_refuses_exactly_the_keys_without_its_scope(tenant, scopes):
    """Made-up ids: the scope is checked before any lookup, so an allowed key gets past it (404, 400...)."""
    _, secret = make_api_key(tenant, scopes=scopes)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    wrong = {}
    for name, method, url in api_operations():
        if (name, method) not in REQUIRED:
            continue  # test_every_api_operation_has_a_reviewed_scope names it
        response = client.generic(method, url, "{}", content_type="application/json")
        needed = REQUIRED[(name, method)]
        refused = response.status_code == 403
        if refused != (needed is not None and needed not in granted(scopes)):
            wrong[f"{method} {name}"] = (response.status_code, response.content[:200])
        elif refused:
            assert f"'{needed}' scope" in response.json()["error"]["message"]

    assert wrong == {}


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [((READ,), True), ((MANAGE,), True), ((READ, PREDICT), True), ((PREDICT,), False)],
    ids=["read", "manage", "read+predict", "predict"],
)
def test_stored_texts_are_shown_only_to_keys_that_may_read(tenant, scopes, allowed):
    project = ProjectFactory(tenant=tenant)
    Feedback.all_tenants.create(
        tenant=tenant, project=project, text="my card number is 4242", source=FeedbackSource.API
    )
    monitor = Monitor.all_tenants.create(tenant=tenant, project=project, name="mentions")
    now = timezone.now()
    Alert.all_tenants.create(
        tenant=tenant,
        monitor=monitor,
        label="complaint",
        window_start=now - timedelta(hours=1),
        window_end=now,
        matching=3,
        total=4,
        share=0.75,
        examples=["my card number is 4242"],
    )
    endpoint = WebhookEndpoint.all_tenants.create(tenant=tenant, url="https://hooks.example.com/in", events=["*"])
    WebhookDelivery.all_tenants.create(
        tenant=tenant,
        endpoint=endpoint,
        event_id="msg_1",
        event_type="alert.fired",
        payload={"data": {"examples": ["my card number is 4242"]}},
    )
    _, secret = make_api_key(tenant, scopes=scopes)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    for url in [
        f"/api/v1/projects/{project.pk}/feedback/",
        f"/api/v1/monitors/{monitor.pk}/alerts/",
        f"/api/v1/webhooks/{endpoint.pk}/deliveries/",
    ]:
        response = client.get(url)
        assert (response.status_code, "4242" in response.content.decode()) == (
            (200, True) if allowed else (403, False)
        ), url


def test_the_schema_states_each_operations_scope():
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    stated = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {m.lower() for m in HANDLER_METHODS}:
                continue
            name = resolve(_fill(path)).url_name
            stated[(name, method.upper())] = operation.get("x-required-scope", "undocumented")

    assert stated == {key: scope or "none" for key, scope in REQUIRED.items()}


def _fill(path: str) -> str:
    parts = [str(uuid.uuid4()) if part.startswith("{") else part for part in path.split("/")]
    return "/".join(parts)


def test_manage_implies_read_and_nothing_else(tenant):
    key, _ = make_api_key(tenant, scopes=(MANAGE,))

    assert [key.has_scope(s) for s in (READ, PREDICT, MANAGE)] == [True, False, True]


def test_the_demo_key_runs_the_readmes_examples(db, settings):
    """``make run`` prints a key and a curl of the project list: that key reads, predicts and manages."""
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    secret = re.search(r"API key\s+(\S+)", out.getvalue()).group(1)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    assert secret.startswith("tb_live_")
    assert client.get("/api/v1/projects/").status_code == 200
    assert client.get("/api/v1/usage/").status_code == 200
    assert sorted(ApiKey.all_tenants.get(prefix=secret[8:16]).scopes) == [MANAGE, PREDICT, READ]


def test_create_api_key_defaults_to_a_key_that_reads_predicts_and_manages(tenant):
    out = io.StringIO()
    call_command("create_api_key", "--tenant", tenant.slug, "--name", "cli", stdout=out, stderr=io.StringIO())
    secret = out.getvalue().strip().splitlines()[-1]

    assert Client(HTTP_AUTHORIZATION=f"Api-Key {secret}").get("/api/v1/projects/").status_code == 200
    assert ApiKey.objects.for_tenant(tenant).get().scopes == [READ, PREDICT, MANAGE]


@pytest.mark.usefixtures("own_cache")
def test_the_dashboard_offers_a_read_only_key(client, tenant, owner):
    client.force_login(owner.user)
    url = dashboard_url("api-key-create", tenant)

    form = client.get(url).content.decode()
    page = client.post(url, {"name": "BI export", "scopes": [READ]}).content.decode()
    secret = re.search(r'value="([^"]+)" id="api-key-secret"', page).group(1)
    key = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    assert 'value="read"' in form and "stored texts" in form
    assert key.get("/api/v1/projects/").status_code == 200
    assert key.post(f"/api/v1/projects/{uuid.uuid4()}/predict/", {"texts": ["hi"]}).status_code == 403
