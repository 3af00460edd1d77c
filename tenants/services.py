"""Writes for tenants, memberships, invitations, API keys and the audit log.

Every function is keyword-only, names its tenant, runs in one transaction and records the audit
event of what it did in that same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from tenants import db, lookups
from tenants.errors import Conflict, Forbidden, InvalidInput, NotFound
from tenants.models import (
    ApiKey,
    ApiKeyScope,
    AuditAction,
    AuditEvent,
    Invitation,
    Membership,
    Role,
    Tenant,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from projects.models import Project

INVITATION_LIFETIME = timedelta(days=7)
_RESERVED_SLUGS = {"new", "admin", "api", "static", "media", "accounts", "invitations"}
_api_keys: lookups.LookupCache[ApiKey] = lookups.LookupCache()


def _label(user: User | None) -> str:
    if user is None:
        return "system"
    return str(getattr(user, "email", "") or user.get_username())


def audit_record(
    *,
    tenant: Tenant | UUID,
    action: AuditAction,
    actor: User | None = None,
    actor_label: str | None = None,
    target_label: str = "",
    ip_address: str | None = None,
    **details: Any,
) -> AuditEvent:
    return AuditEvent.all_tenants.create(
        tenant_id=getattr(tenant, "pk", tenant),
        actor=actor,
        actor_label=actor_label or _label(actor),
        action=action,
        target_label=target_label[:200],
        ip_address=ip_address,
        details=details,
    )


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "team"
    if base in _RESERVED_SLUGS:
        base = f"{base}-team"
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def tenant_create(*, name: str, owner: User, ip_address: str | None = None, signed_up: bool = False) -> Tenant:
    name = name.strip()
    if not name:
        raise InvalidInput("Give the organization a name.", field="name")
    tenant = Tenant.objects.create(name=name[:120], slug=_unique_slug(name))
    with db.tenant_context(tenant.pk):
        Membership.all_tenants.create(tenant=tenant, user=owner, role=Role.OWNER)
        if signed_up:
            audit_record(
                tenant=tenant,
                action=AuditAction.SIGNED_UP,
                actor=owner,
                target_label=_label(owner),
                ip_address=ip_address,
            )
        audit_record(
            tenant=tenant,
            action=AuditAction.TENANT_CREATED,
            actor=owner,
            target_label=tenant.name,
            ip_address=ip_address,
        )
    return tenant


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_role_to_grant(acting: Membership, role: str) -> None:
    if role == Role.OWNER and not acting.has_role(Role.OWNER):
        raise Forbidden("Only an owner can make someone an owner.")


@transaction.atomic
def invitation_create(
    *, tenant: Tenant, email: str, role: str, invited_by: Membership, ip_address: str | None = None
) -> tuple[Invitation, str]:
    """Returns the invitation and its token; the token is in the link and is never stored."""
    email = email.strip().lower()
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.", field="role")
    _require_role_to_grant(invited_by, role)
    if Membership.objects.for_tenant(tenant).filter(user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member of {tenant.name}.", field="email")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.all_tenants.create(
        tenant=tenant,
        email=email,
        role=role,
        token_hash=_hash_token(token),
        invited_by=invited_by.user,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    audit_record(
        tenant=tenant,
        action=AuditAction.MEMBER_INVITED,
        actor=invited_by.user,
        target_label=email,
        ip_address=ip_address,
        role=role,
    )
    return invitation, token


def invitation_by_token(*, token: str) -> Invitation:
    """The pending invitation behind a link, from any tenant: the token is the credential."""
    with db.system_context():
        invitation = Invitation.all_tenants.select_related("tenant").filter(token_hash=_hash_token(token)).first()
    if invitation is None or not invitation.is_pending:
        raise NotFound("This invitation link is not valid: it may have expired, been used or been revoked.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User, ip_address: str | None = None) -> Membership:
    invitation = invitation_by_token(token=token)
    tenant = invitation.tenant
    # The link is personal: forwarded or leaked, it does not let someone else in with the invited role.
    if (user.email or "").strip().lower() != invitation.email:
        raise Forbidden(
            f"This invitation was sent to {invitation.email}. Sign in with that address to accept it, or ask "
            f"an admin of {tenant.name} to invite {user.email}."
        )
    with db.tenant_context(tenant.pk, user_id=user.pk):
        existing = Membership.objects.for_tenant(tenant).filter(user=user).first()
        if existing is not None:
            return existing
        membership = Membership.all_tenants.create(tenant=tenant, user=user, role=invitation.role)
        Invitation.objects.for_tenant(tenant).filter(pk=invitation.pk).update(
            accepted_at=timezone.now(), accepted_by=user
        )
        audit_record(
            tenant=tenant,
            action=AuditAction.MEMBER_JOINED,
            actor=user,
            target_label=_label(user),
            ip_address=ip_address,
            role=invitation.role,
            invited_email=invitation.email,
        )
    return membership


@transaction.atomic
def invitation_revoke(*, tenant: Tenant, invitation_id: UUID, actor: Membership, ip_address: str | None = None) -> None:
    invitation = Invitation.objects.for_tenant(tenant).filter(pk=invitation_id, accepted_at=None).first()
    if invitation is None:
        raise NotFound("No such pending invitation.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        tenant=tenant,
        action=AuditAction.INVITATION_REVOKED,
        actor=actor.user,
        target_label=invitation.email,
        ip_address=ip_address,
    )


def _other_owners(tenant: Tenant, membership: Membership) -> bool:
    return Membership.objects.for_tenant(tenant).filter(role=Role.OWNER).exclude(pk=membership.pk).exists()


def _membership_for_change(*, tenant: Tenant, membership_id: UUID, actor: Membership) -> Membership:
    membership = (
        Membership.objects.for_tenant(tenant)
        .select_for_update()
        .select_related("user")
        .filter(pk=membership_id)
        .first()
    )
    if membership is None:
        raise NotFound("No such member.")
    if membership.role == Role.OWNER and not actor.has_role(Role.OWNER):
        raise Forbidden("Only an owner can change or remove an owner.")
    return membership


@transaction.atomic
def membership_change_role(
    *, tenant: Tenant, membership_id: UUID, role: str, actor: Membership, ip_address: str | None = None
) -> Membership:
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.", field="role")
    membership = _membership_for_change(tenant=tenant, membership_id=membership_id, actor=actor)
    _require_role_to_grant(actor, role)
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and not _other_owners(tenant, membership):
        raise Conflict("An organization needs at least one owner: make someone else owner first.", field="role")
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        tenant=tenant,
        action=AuditAction.MEMBER_ROLE_CHANGED,
        actor=actor.user,
        target_label=_label(membership.user),
        ip_address=ip_address,
        previous=previous,
        role=role,
    )
    return membership


@transaction.atomic
def membership_remove(*, tenant: Tenant, membership_id: UUID, actor: Membership, ip_address: str | None = None) -> None:
    membership = _membership_for_change(tenant=tenant, membership_id=membership_id, actor=actor)
    if membership.role == Role.OWNER and not _other_owners(tenant, membership):
        raise Conflict("The last owner cannot be removed: make someone else owner first.")
    label = _label(membership.user)
    membership.delete()
    audit_record(
        tenant=tenant, action=AuditAction.MEMBER_REMOVED, actor=actor.user, target_label=label, ip_address=ip_address
    )


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
    prefix, dot, _ = raw_key.partition(".")
    if not dot or not prefix:
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


@transaction.atomic
def tenant_set_active(*, tenant: Tenant, active: bool, actor: User | None) -> None:
    if tenant.is_active == active:
        return
    Tenant.objects.filter(pk=tenant.pk).update(is_active=active)
    lookups.changed()  # an update() sends no post_save
    tenant.is_active = active
    with db.tenant_context(tenant.pk):
        audit_record(
            tenant=tenant,
            action=AuditAction.TENANT_REACTIVATED if active else AuditAction.TENANT_SUSPENDED,
            actor=actor,
            target_label=tenant.name,
        )
