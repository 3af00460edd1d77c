from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from projects.models import Project
from tenants.models import Membership, Tenant
from tests.factories import ProjectFactory


@pytest.fixture
def project(tenant: Tenant) -> Project:
    return ProjectFactory(tenant=tenant, name="Intents")


@pytest.fixture
def signed_in(client: Client) -> Callable[[Membership], Client]:
    """``signed_in(membership)``: the test client, logged in as that member's user."""

    def sign_in(membership: Membership) -> Client:
        client.force_login(membership.user)
        return client

    return sign_in


@pytest.fixture(autouse=True)
def _own_cache(settings: Any) -> None:
    """allauth's rate limits (one confirmation mail per address per 3 minutes...) live in the cache:
    a fresh one per test keeps one test's mails and attempts from throttling the next."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(uuid.uuid4())}
    }
