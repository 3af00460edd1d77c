"""API authentication: ``Authorization: Api-Key tb_live_<prefix>.<secret>`` (or a key of the older
unmarked ``<prefix>.<secret>`` format) resolves the key and its tenant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenants import db
from tenants.models import ApiKey, Tenant
from tenants.services import ApiKeyRejected, api_key_authenticate, api_key_touch

KEYWORD = "Api-Key"


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """Stands in ``request.user`` for a call made with an API key (there is no person behind it)."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_active = True

    @property
    def pk(self) -> str:
        return str(self.api_key.public_id)

    @property
    def tenant(self) -> Tenant:
        return self.api_key.tenant

    def __str__(self) -> str:
        return f"API key {self.api_key.name} ({self.api_key.prefix})"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw_key = header.strip().partition(" ")
        if keyword.lower() != KEYWORD.lower():
            raise exceptions.AuthenticationFailed(
                f"Unsupported Authorization scheme {keyword!r}: send 'Authorization: {KEYWORD} <key>'."
            )
        raw_key = raw_key.strip()
        if not raw_key:
            raise exceptions.AuthenticationFailed(f"No key after '{KEYWORD}' in the Authorization header.")
        try:
            api_key = api_key_authenticate(raw_key)
        except ApiKeyRejected as rejected:
            raise exceptions.AuthenticationFailed(rejected.message) from None
        db.activate_tenant(api_key.tenant_id)
        api_key_touch(api_key, resolution_s=settings.API_KEY_LAST_USED_RESOLUTION_S)
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


def tenant_of(request: Any) -> Tenant:
    principal = request.user
    assert isinstance(principal, ApiKeyPrincipal), "tenant_of() is for API-key-authenticated requests"
    return principal.tenant
