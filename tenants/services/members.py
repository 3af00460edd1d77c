"""Invitations and memberships: invite, accept, revoke; change a member's role, remove a member."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from tenants import db
from tenants.errors import Conflict, Forbidden, InvalidInput, NotFound
from tenants.models import (
    AuditAction,
    Invitation,
    Membership,
    Role,
    Tenant,
)
from tenants.services.audit import audit_record, label_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

INVITATION_LIFETIME = timedelta(days=7)


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
            target_label=label_of(user),
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
        target_label=label_of(membership.user),
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
    label = label_of(membership.user)
    membership.delete()
    audit_record(
        tenant=tenant, action=AuditAction.MEMBER_REMOVED, actor=actor.user, target_label=label, ip_address=ip_address
    )
