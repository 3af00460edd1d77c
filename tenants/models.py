from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from rest_framework_api_key.crypto import KeyGenerator
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from tenants.scoping import TenantManager, TenantOwnedModel


class Tenant(models.Model):
    """A customer company. Everything it owns carries its id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    is_active = models.BooleanField(
        default=True, help_text="Suspended tenants cannot sign in to their dashboard or call the API."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# What each role may do grows with its rank: a viewer reads, a member works on projects, an admin
# manages people and keys, an owner also manages owners and sees the audit log.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Membership(TenantOwnedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta(TenantOwnedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user_per_tenant")]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant_id} ({self.role})"

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]


class Invitation(TenantOwnedModel):
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # Only the hash of the link's token is stored: a leaked database does not leak usable invitations.
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} as {self.role}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


# Every key starts with this, so that secret scanners (GitHub's, GitGuardian's) recognise a leaked one.
# Keys made before it carry the library's bare ``prefix.secret`` and keep working.
KEY_MARK = "tb_live_"


class MarkedKeyGenerator(KeyGenerator):
    """The library's ``prefix.secret`` behind ``KEY_MARK``; the hash covers the whole key, mark included."""

    def generate(self) -> tuple[str, str, str]:
        prefix = self.get_prefix()
        key = f"{KEY_MARK}{prefix}.{self.get_secret_key()}"
        return key, prefix, self.hash(key)


def key_prefix_of(raw_key: str) -> str:
    """The stored ``prefix`` of a presented key, marked or of the old format ("" if malformed)."""
    prefix, dot, _ = raw_key.removeprefix(KEY_MARK).partition(".")
    return prefix if dot else ""


class ApiKeyManager(TenantManager["ApiKey"], BaseAPIKeyManager):
    """Scoped like every tenant manager, plus the library's key generation (``assign_key``)."""

    key_generator = MarkedKeyGenerator()

    def assign_key(self, obj: AbstractAPIKey) -> str:
        secret = super().assign_key(obj)
        # The library's primary key is "prefix.hash"; the hash has no business in admin URLs or logs.
        obj.id = obj.prefix
        return secret


class ApiKeyScope(models.TextChoices):
    """``read``: stored data (texts included); ``predict``: call the model, post monitor events and
    feedback; ``manage``: every change, and implies ``read``."""

    READ = "read", "Read"
    PREDICT = "predict", "Predict"
    MANAGE = "manage", "Manage"


# Scopes a key holds without naming them.
IMPLIED_SCOPES: dict[str, frozenset[str]] = {ApiKeyScope.MANAGE: frozenset({ApiKeyScope.READ})}


class ApiKey(AbstractAPIKey):
    """A tenant's API key: ``tb_live_<prefix>.<secret>`` shown once, stored as a SHA-512 hash by the library.

    The library's string primary key embeds the key's hash, so URLs use ``public_id`` instead.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="When set, the key works for this project only.",
    )
    scopes = models.JSONField(default=list, help_text="Any of: read, predict, manage (manage implies read).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    all_tenants: BaseAPIKeyManager = BaseAPIKeyManager()
    objects: ApiKeyManager = ApiKeyManager()  # type: ignore[misc,assignment]

    class Meta(AbstractAPIKey.Meta):
        default_manager_name = "all_tenants"
        base_manager_name = "all_tenants"
        ordering = ("-created",)
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_expired(self) -> bool:
        return self.expiry_date is not None and self.expiry_date <= timezone.now()

    @property
    def status(self) -> str:
        if self.revoked:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "active"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or any(scope in IMPLIED_SCOPES.get(held, ()) for held in self.scopes)


class AuditAction(models.TextChoices):
    SIGNED_UP = "user.signed_up", "Signed up"
    TENANT_CREATED = "tenant.created", "Tenant created"
    MEMBER_INVITED = "member.invited", "Member invited"
    INVITATION_REVOKED = "invitation.revoked", "Invitation revoked"
    MEMBER_JOINED = "member.joined", "Member joined"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    TENANT_SUSPENDED = "tenant.suspended", "Tenant suspended"
    TENANT_REACTIVATED = "tenant.reactivated", "Tenant reactivated"
    TENANT_EXPORTED = "tenant.exported", "Data exported"
    CHECKOUT_COMPLETED = "billing.checkout_completed", "Checkout completed"
    SUBSCRIPTION_CHANGED = "billing.subscription_changed", "Subscription changed"
    SUBSCRIPTION_ENDED = "billing.subscription_ended", "Subscription ended"
    INVOICE_PAID = "billing.invoice_paid", "Invoice paid"
    PAYMENT_FAILED = "billing.payment_failed", "Payment failed"
    PLAN_CHANGED = "billing.plan_changed", "Plan changed by an operator"
    CREDIT_GRANTED = "billing.credit_granted", "Credit granted"
    SPEND_CAP_CHANGED = "billing.spend_cap_changed", "Spend cap changed"
    USAGE_RESENT = "billing.usage_resent", "Usage sent to Stripe again"
    CONFIDENCE_THRESHOLD_ADOPTED = "project.threshold_adopted", "Confidence threshold adopted"


class AuditEvent(TenantOwnedModel):
    """A security-relevant action, kept for operators and the tenant's owners. Never holds secrets."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="Who acted, as it read at the time (email, key name).")
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    target_label = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_recent")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_label}"
