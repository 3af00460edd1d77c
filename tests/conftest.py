from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tenants.models import Membership, Role, Tenant
from tests.factories import MembershipFactory, TenantFactory, UserFactory, make_api_key

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _operator_view_for_test_setup(request: pytest.FixtureRequest) -> None:
    """Let the test's own set-up write to every tenant on PostgreSQL, as an operator would.

    Requests made through the test clients still run under the tenant context that the middleware,
    the dashboard views and the API authentication set, so row-level security is exercised there.
    """
    uses_db = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db"} & set(request.fixturenames)
    )
    if not uses_db:
        return
    request.getfixturevalue("_django_db_helper")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.bypass_rls', 'on', false)")


# --- tenants and people -----------------------------------------------------------------------------


@pytest.fixture
def tenant(db: None) -> Tenant:
    return TenantFactory(name="Acme Support", slug="acme")


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return TenantFactory(name="Globex", slug="globex")


@pytest.fixture
def member_of(db: None) -> Callable[..., Membership]:
    """``member_of(tenant, role)``: a new user with that role in that tenant."""

    def make(tenant: Tenant, role: str = Role.MEMBER, **user_fields: Any) -> Membership:
        return MembershipFactory(tenant=tenant, role=role, user=UserFactory(**user_fields))

    return make


@pytest.fixture
def owner(tenant: Tenant, member_of: Callable[..., Membership]) -> Membership:
    return member_of(tenant, Role.OWNER)


# --- API ----------------------------------------------------------------------------------------------


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def key_client(db: None) -> Callable[..., APIClient]:
    """``key_client(tenant, scopes=..., project=...)``: an API client sending a fresh real key."""

    def make(tenant: Tenant, **kwargs: Any) -> APIClient:
        _, secret = make_api_key(tenant, **kwargs)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        return client

    return make


# --- a real Celery worker -------------------------------------------------------------------------------


def _database_url_of_test_db() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or ""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None, django_db_blocker: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A real worker process on the configured broker (Redis in CI, the filesystem broker locally),
    connected to the test database. Tests using it need ``transactional_db`` so the worker sees
    their rows."""
    from config.celery import app

    with django_db_blocker.unblock():
        database_url = _database_url_of_test_db()
    app.control.purge()
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1"}
    from django.conf import settings

    log = (settings.VAR_DIR / "test-worker.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "default,training",
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--loglevel",
            "INFO",
            "--hostname",
            "test-worker@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Celery worker exited early; see {log.name}")
        if app.control.ping(timeout=1.0):
            break
    else:
        process.terminate()
        raise RuntimeError(f"Celery worker did not answer within 60 s; see {log.name}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
