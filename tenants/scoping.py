"""Fail-closed tenant scoping for models.

A tenant-owned model declares::

    all_tenants = models.Manager()      # first: Django's default manager (admin, migrations, cascades)
    objects = TenantManager()           # what product code uses: objects.for_tenant(tenant)

``Model.objects.all()`` / ``.filter()`` / ``.get()`` raise ``TenantScopeError``: the only way in is
``for_tenant``. ``all_tenants`` is for the admin, migrations and system tasks; a test keeps product
code from reaching for it.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db import models

if TYPE_CHECKING:
    from tenants.models import Tenant


class TenantScopeError(RuntimeError):
    """A tenant-owned table was queried without naming the tenant."""


_M = TypeVar("_M", bound=models.Model)


class TenantManager(models.Manager[_M], Generic[_M]):
    def get_queryset(self) -> models.QuerySet[_M]:
        raise TenantScopeError(
            f"{self.model.__name__}.objects must be scoped: use {self.model.__name__}.objects.for_tenant(tenant)."
        )

    def for_tenant(self, tenant: Tenant | uuid.UUID | str) -> models.QuerySet[_M]:
        if tenant is None or tenant == "":
            raise TenantScopeError(f"{self.model.__name__}.objects.for_tenant() needs a tenant, got {tenant!r}.")
        tenant_id = getattr(tenant, "pk", tenant)
        return super().get_queryset().filter(tenant_id=tenant_id)


class TenantOwnedModel(models.Model):
    """Base for every tenant-owned table: a non-null tenant, a UUID id, the two managers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    all_tenants: models.Manager[Any] = models.Manager()
    objects: TenantManager[Any] = TenantManager()

    class Meta:
        abstract = True
        default_manager_name = "all_tenants"
        base_manager_name = "all_tenants"
