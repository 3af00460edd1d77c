from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tenants import db


class TenantDatabaseContextMiddleware:
    """Gives each request a clean database context and restores the connection's afterwards.

    A request starts seeing only the signed-in user's memberships; the dashboard's tenant views and
    the API's key authentication then set the tenant. Staff in the admin see every tenant.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        operator = bool(
            user_id is not None
            and request.path.startswith("/admin/")
            and user is not None
            and user.is_active
            and user.is_staff
        )
        with db.request_context(user_id=user_id, bypass=operator):
            return self.get_response(request)
