"""API keys: create (shown once), revoke, authenticate a request's key, note its use."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from tenants import db, lookups
from tenants.errors import InvalidInput, NotFound
from tenants.models import (
    ApiKey,
    ApiKeyScope,
    AuditAction,
    Tenant,
    key_prefix_of,
)
from tenants.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from projects.models import Project

_api_keys: lookups.LookupCache[ApiKey] = lookups.LookupCache()


def _clean_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(ApiKeyScope.values))
    if unknown:
        raise InvalidInput(
            f"Unknown scope(s) {', '.join(unknown)}; use {', '.join(ApiKeyScope.values)}.", field="scopes"
        )
    if not scopes:
        raise InvalidInput("Choose at least one scope.", field="scopes")
    return [s for s in ApiKeyScope.values if s in scopes]


@transaction.atomic
def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    scopes: list[str],
    project: Project | None = None,
    expires_at: datetime | None = None,
    created_by: User | None = None,
    ip_address: str | None = None,
) -> tuple[ApiKey, str]:
    """Returns the key and its secret, which exists only in this return value."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the key a name, e.g. the integration that will use it.", field="name")
    if len(name) > 50:
        raise InvalidInput("Key names are at most 50 characters.", field="name")
    if project is not None and project.tenant_id != tenant.pk:
        raise NotFound("No such project.", field="project")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry date must be in the future.", field="expires_at")
    api_key = ApiKey(
        tenant=tenant,
        name=name,
        scopes=_clean_scopes(scopes),
        project=project,
        expiry_date=expires_at,
        created_by=created_by,
    )
    secret = ApiKey.objects.assign_key(api_key)
    api_key.save()
    audit_record(
        tenant=tenant,
        action=AuditAction.API_KEY_CREATED,
        actor=created_by,
        target_label=str(api_key),
        ip_address=ip_address,
        scopes=api_key.scopes,
        project=str(project.pk) if project is not None else None,
    )
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, public_id: UUID, actor: User | None, ip_address: str | None = None) -> ApiKey:
    api_key = ApiKey.objects.for_tenant(tenant).select_for_update().filter(public_id=public_id).first()
    if api_key is None:
        raise NotFound("No such API key.")
    if not api_key.revoked:
        api_key.revoked = True
        api_key.save(update_fields=["revoked"])
        audit_record(
            tenant=tenant,
            action=AuditAction.API_KEY_REVOKED,
            actor=actor,
            target_label=str(api_key),
            ip_address=ip_address,
        )
    return api_key


class ApiKeyRejected(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def api_key_authenticate(raw_key: str) -> ApiKey:
    """The key behind a presented secret, or ApiKeyRejected saying why (unknown, revoked, expired)."""
    prefix = key_prefix_of(raw_key)
    if not prefix:
        raise ApiKeyRejected("Malformed API key: expected the full key as shown when it was created.")

    def load() -> ApiKey | None:
        with db.system_context():
            found = ApiKey.all_tenants.select_related("tenant").filter(prefix=prefix).first()
        return found if found is not None and found.is_valid(raw_key) else None

    # Keyed by the secret's digest, so that a cached key answers only its own full secret. The states
    # below are checked on every call: an expiry needs no change to the row.
    api_key = _api_keys.get(hashlib.sha256(raw_key.encode()).digest(), load)
    if api_key is None:
        raise ApiKeyRejected("Invalid API key.")
    if api_key.revoked:
        raise ApiKeyRejected("This API key has been revoked.")
    if api_key.is_expired:
        assert api_key.expiry_date is not None
        raise ApiKeyRejected(f"This API key expired on {api_key.expiry_date:%Y-%m-%d %H:%M} UTC.")
    if not api_key.tenant.is_active:
        raise ApiKeyRejected("This organization is suspended; contact support.")
    return api_key


def api_key_touch(api_key: ApiKey, *, resolution_s: int) -> None:
    """Record use, at most once per ``resolution_s``, so that reads do not each become a write."""
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() >= resolution_s:
        ApiKey.objects.for_tenant(api_key.tenant_id).filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
