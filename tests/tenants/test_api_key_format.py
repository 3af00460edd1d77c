"""API keys start with ``tb_live_`` so secret scanners find leaked ones; keys made before still work."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework_api_key.crypto import KeyGenerator

from tenants.models import ApiKey
from tests.factories import make_api_key

pytestmark = pytest.mark.django_db


def usage_with(secret: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Api-Key {secret}").get("/api/v1/usage/").status_code


def test_a_new_key_starts_with_the_scannable_prefix_and_authenticates(tenant):
    api_key, secret = make_api_key(tenant)

    assert re.fullmatch(r"tb_live_[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}", secret)
    assert secret.startswith(f"tb_live_{api_key.prefix}.")
    assert usage_with(secret) == 200


def test_a_new_key_works_only_whole(tenant):
    _, secret = make_api_key(tenant)

    assert usage_with(secret.removeprefix("tb_live_")) == 401
    assert usage_with(secret + "x") == 401


def test_a_key_made_before_the_prefix_still_authenticates(tenant):
    """Keys of the library's own format (``prefix.secret``, hashed whole) stay valid."""
    key, prefix, hashed_key = KeyGenerator().generate()
    ApiKey.all_tenants.create(
        id=prefix, prefix=prefix, hashed_key=hashed_key, name="old", tenant=tenant, scopes=["predict", "manage"]
    )

    assert not key.startswith("tb_live_")
    assert usage_with(key) == 200
    assert usage_with("tb_live_" + key) == 401
