from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import connection
from django.db.utils import Error as DatabaseError


@register(Tags.database, deploy=True)
def row_level_security_applies(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Row-level security is void for a superuser or a BYPASSRLS role: warn if we connect as one."""
    if connection.vendor != "postgresql":
        return []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
    except DatabaseError:
        return []
    if row and row[0]:
        return [
            Warning(
                "The database role bypasses row-level security, so the second wall between tenants is off.",
                hint="Connect as a role without SUPERUSER or BYPASSRLS (see README, 'Production').",
                id="tenants.W001",
            )
        ]
    return []
