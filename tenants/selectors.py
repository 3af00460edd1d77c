"""Reads for tenants: every query names its tenant (or, for a user's own memberships, the user)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from tenants.models import ApiKey, AuditEvent, Invitation, Membership, Tenant


def memberships_of_user(user: AbstractBaseUser) -> QuerySet[Membership]:
    """The tenants a user belongs to, across tenants: RLS lets a user read their own memberships."""
    return (
        Membership.all_tenants.filter(user_id=user.pk, tenant__is_active=True)
        .select_related("tenant")
        .order_by("tenant__name")
    )


def membership_of(*, tenant: Tenant, user: AbstractBaseUser) -> Membership | None:
    return Membership.objects.for_tenant(tenant).filter(user_id=user.pk).select_related("user").first()


def members_of(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.for_tenant(tenant).select_related("user").order_by("user__email")


def pending_invitations(*, tenant: Tenant) -> QuerySet[Invitation]:
    return Invitation.objects.for_tenant(tenant).filter(
        accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    )


def api_keys_of(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant).select_related("project", "created_by")


def audit_events_of(*, tenant: Tenant) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_tenant(tenant)


def key_projects(*, tenant: Tenant) -> QuerySet[Any]:
    """The projects a new API key may be limited to. Projects live in an app above this one: they are
    reached through the key's own foreign key rather than an import."""
    project_model = ApiKey._meta.get_field("project").related_model
    return project_model.objects.for_tenant(tenant).order_by("name")  # type: ignore[union-attr]
