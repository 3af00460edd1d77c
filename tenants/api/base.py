"""The one base every tenant API view inherits: scoping, scopes and the key's project limit.

Subclasses set ``model`` and may narrow the query in ``refine_queryset``; they cannot replace
``get_queryset`` (``__init_subclass__`` refuses), so no view can forget the tenant. Reads need the
``read`` scope and writes ``manage`` unless a view declares otherwise; the OpenAPI document states each
operation's scope from the same declaration (``x-required-scope``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from drf_spectacular.openapi import AutoSchema
from rest_framework import permissions, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from tenants.authentication import ApiKeyPrincipal
from tenants.models import ApiKey, ApiKeyScope, Tenant

SAFE_METHODS = permissions.SAFE_METHODS


class HasKeyScope(permissions.BasePermission):
    """The view's ``required_scope`` for this request; None lets any valid key in."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        principal = request.user
        if not isinstance(principal, ApiKeyPrincipal):
            return False
        needed = view.required_scope(request) if isinstance(view, TenantScopedMixin) else None
        if needed and not principal.api_key.has_scope(needed):
            self.message = f"This API key lacks the '{needed}' scope needed here."
            return False
        return True


class ScopedAutoSchema(AutoSchema):
    """Each operation's description ends with the scope it needs, also given as ``x-required-scope``."""

    def _required_scope(self) -> str | None:
        view = self.view
        return view.required_scope(view.request) if isinstance(view, TenantScopedMixin) else None

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular narrows DRF's signature
        scope = self._required_scope()
        needs = f"Needs an API key with the `{scope}` scope." if scope else "Any valid API key may call this."
        description = super().get_description()
        return f"{description}\n\n{needs}" if description else needs

    def get_extensions(self) -> dict[str, Any]:
        return {**super().get_extensions(), "x-required-scope": self._required_scope() or "none"}


class TenantScopedMixin:
    model: ClassVar[type[Model]]
    # Field that links the model to a project, for keys limited to one project ("pk" for Project).
    project_field: ClassVar[str | None] = "project"
    # Stored data (texts, files, reports) needs ``read``; None lets any valid key read.
    read_scope: ClassVar[str | None] = ApiKeyScope.READ
    write_scope: ClassVar[str | None] = ApiKeyScope.MANAGE
    permission_classes: Any = [permissions.IsAuthenticated, HasKeyScope]
    schema: Any = ScopedAutoSchema()
    request: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__} must not override get_queryset; use refine_queryset.")

    def required_scope(self, request: Request) -> str | None:
        return self.read_scope if request.method in SAFE_METHODS else self.write_scope

    @property
    def api_key(self) -> ApiKey:
        principal = self.request.user
        assert isinstance(principal, ApiKeyPrincipal)
        return principal.api_key

    @property
    def tenant(self) -> Tenant:
        return self.api_key.tenant

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            # Schema generation runs without a key: an empty queryset still tells it the field types.
            return self.model.all_tenants.none()  # type: ignore[attr-defined]
        queryset = self.model.objects.for_tenant(self.tenant)  # type: ignore[attr-defined]
        if self.api_key.project_id is not None and self.project_field is not None:
            queryset = queryset.filter(**{self.project_field: self.api_key.project_id})
        return self.refine_queryset(queryset)

    def refine_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset


class TenantModelViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    lookup_field = "pk"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
