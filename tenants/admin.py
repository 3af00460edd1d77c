"""Operators' views of tenants, members, invitations, keys (never their secrets) and the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework_api_key.models import APIKey as LibraryAPIKey

from tenants import services
from tenants.models import ApiKey, AuditEvent, Invitation, Membership, Tenant

# The library registers its own concrete key model; ours replaces it.
if admin.site.is_registered(LibraryAPIKey):
    admin.site.unregister(LibraryAPIKey)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active", "created_at"]
    search_fields = ["name", "slug", "id"]
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline]
    actions = ["suspend", "reactivate"]

    @admin.action(description="Suspend selected tenants (dashboard and API refused)")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.tenant_set_active(tenant=tenant, active=False, actor=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"Suspended {queryset.count()} tenant(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected tenants")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.tenant_set_active(tenant=tenant, active=True, actor=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"Reactivated {queryset.count()} tenant(s).", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "tenant__name", "tenant__slug"]
    list_select_related = ["user", "tenant"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role", "accepted_at", "revoked_at"]
    search_fields = ["email", "tenant__name"]
    list_select_related = ["tenant"]
    exclude = ["token_hash"]
    readonly_fields = ["tenant", "email", "invited_by", "accepted_by", "accepted_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # invitations carry a secret link: they are created where the link can be shown


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Operators see and revoke keys; the secret is never stored, and the hash is never shown."""

    list_display = [
        "name",
        "prefix",
        "tenant",
        "project",
        "scopes",
        "created",
        "expiry_date",
        "last_used_at",
        "revoked",
    ]
    list_filter = ["revoked", "created", "expiry_date"]
    search_fields = ["name", "prefix", "tenant__name", "tenant__slug"]
    list_select_related = ["tenant", "project"]
    # Revocation goes through the action below, so that it is audited like a revocation by the tenant.
    readonly_fields = [
        "prefix",
        "public_id",
        "tenant",
        "project",
        "scopes",
        "revoked",
        "created_by",
        "created",
        "last_used_at",
    ]
    fields = ["name", "expiry_date", *readonly_fields]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created by tenants' admins or `manage.py create_api_key`, which show the secret

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset.select_related("tenant"):
            services.api_key_revoke(
                tenant=api_key.tenant,
                public_id=api_key.public_id,
                actor=request.user,  # type: ignore[arg-type]
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant", "action", "actor_label", "target_label", "ip_address"]
    list_filter = ["action", "created_at"]
    search_fields = ["actor_label", "target_label", "tenant__name", "tenant__slug"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
