from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tenants.selectors import memberships_of_user


def tenancy(request: HttpRequest) -> dict[str, Any]:
    """The tenant switcher's entries, for the dashboard's navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith(("/admin/", "/api/")):
        return {}
    return {"user_memberships": list(memberships_of_user(user))}
