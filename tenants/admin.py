"""Operators' views of tenants, members, invitations, keys (never their secrets) and the audit log.

Operators look; they change a tenant only through its audited actions (suspend, reactivate, revoke a key).
Memberships, invitations and keys are the tenant's own to change, where each change is audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from rest_framework_api_key.models import APIKey as LibraryAPIKey

from tenants import services
from tenants.errors import ServiceError
from tenants.models import ApiKey, AuditEvent, Invitation, Membership, Tenant
from tenants.services.organizations import tenant_delete

# The library registers its own concrete key model; ours replaces it.
if admin.site.is_registered(LibraryAPIKey):
    admin.site.unregister(LibraryAPIKey)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows operators may look at but not add, edit or delete; they act through audited actions only
    (``permissions=["operate"]``: the model's change permission)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return bool(request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}"))


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("user", "role", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active", "created_at"]
    search_fields = ["name", "slug", "id"]
    inlines = [MembershipInline]
    actions = ["suspend", "reactivate", "delete_tenant"]

    @admin.action(description="Suspend selected tenants (dashboard and API refused)", permissions=["operate"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.tenant_set_active(tenant=tenant, active=False, actor=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"Suspended {queryset.count()} tenant(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected tenants", permissions=["operate"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.tenant_set_active(tenant=tenant, active=True, actor=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"Reactivated {queryset.count()} tenant(s).", messages.SUCCESS)

    @admin.action(description="Delete the selected tenant for good (rows and files)", permissions=["operate"])
    def delete_tenant(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> TemplateResponse | None:
        """One tenant at a time, after the operator types its name; its stored files go after commit."""
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one tenant to delete.", messages.ERROR)
            return None
        tenant = queryset.get()
        typed = request.POST.get("confirm")
        if typed is not None:
            try:
                tenant_delete(tenant=tenant, actor=request.user, confirm_name=typed)  # type: ignore[arg-type]
            except ServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, f"Deleted {tenant.name} with its files.", messages.SUCCESS)
                return None
        context = {**self.admin_site.each_context(request), "opts": self.opts, "tenant": tenant}
        return TemplateResponse(request, "tenants/admin_delete.html", context)


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    """Roles are changed by the tenant's owners and admins, where the change is audited."""

    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "tenant__name", "tenant__slug"]
    list_select_related = ["user", "tenant"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Invitations carry a secret link: created and revoked by the tenant's admins, where the link is shown."""

    list_display = ["email", "tenant", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role", "accepted_at", "revoked_at"]
    search_fields = ["email", "tenant__name"]
    list_select_related = ["tenant"]
    exclude = ["token_hash"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
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
    fields = [
        "name",
        "prefix",
        "public_id",
        "tenant",
        "project",
        "scopes",
        "revoked",
        "created_by",
        "created",
        "expiry_date",
        "last_used_at",
    ]
    actions = ["revoke"]

    @admin.action(description="Revoke selected API keys", permissions=["operate"])
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
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "tenant", "action", "actor_label", "target_label", "ip_address"]
    list_filter = ["action", "created_at"]
    search_fields = ["actor_label", "target_label", "tenant__name", "tenant__slug"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
