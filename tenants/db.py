"""The tenant context of the database connection: the second wall behind the tenant filters.

On PostgreSQL every tenant table has a row-level security policy that shows a row only when its
``tenant_id`` equals the connection's ``app.tenant_id`` setting (or when ``app.bypass_rls`` is on, for
operators' and system work that spans tenants). With nothing set, a query sees no rows at all. On
SQLite these calls do nothing; the explicit tenant filters of the managers remain the first wall
everywhere.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from uuid import UUID

from django.db import InterfaceError, OperationalError, connection, transaction

# Also read by the log filter, so that log lines carry the tenant they were written for.
current_tenant_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_tenant_id", default=None)

_TENANT = "app.tenant_id"
_USER = "app.user_id"
_BYPASS = "app.bypass_rls"


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _read() -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), coalesce(current_setting(%s, true), ''),"
            " coalesce(current_setting(%s, true), '')",
            [_TENANT, _USER, _BYPASS],
        )
        row = cursor.fetchone()
    assert row is not None
    return str(row[0]), str(row[1]), str(row[2])


def _write(tenant_id: str, user_id: str, bypass: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, false), set_config(%s, %s, false), set_config(%s, %s, false)",
            [_TENANT, tenant_id, _USER, user_id, _BYPASS, bypass],
        )


@contextmanager
def _database_context(tenant_id: str, user_id: str, bypass: str) -> Iterator[None]:
    token = current_tenant_id.set(tenant_id or None)
    previous = _read() if _is_postgres() else None
    if previous is not None:
        _write(tenant_id, user_id, bypass)
    try:
        yield
    finally:
        if previous is not None and connection.connection is not None:
            try:
                _write(*previous)
            except (OperationalError, InterfaceError):
                # The connection died under the block (the database restarted, say): there is nothing to
                # restore on it, and it must serve no one again with the context it held. Closed, the next
                # query opens a new one, which starts with none. The block's own work stands: a request that
                # committed (a prediction, billed) is not turned into an error on its way out.
                connection.close()
        current_tenant_id.reset(token)


def tenant_context(tenant_id: UUID | str, *, user_id: int | None = None) -> AbstractContextManager[None]:
    """Rows of this tenant only (and, for memberships, the rows of this user)."""
    return _database_context(str(tenant_id), "" if user_id is None else str(user_id), "")


def user_context(user_id: int) -> AbstractContextManager[None]:
    """No tenant chosen yet: a signed-in user may see their own memberships, nothing else."""
    return _database_context("", str(user_id), "")


def system_context() -> AbstractContextManager[None]:
    """Every tenant's rows: for the admin, management commands, API key look-up and sweepers."""
    return _database_context("", "", "on")


def clear_context() -> None:
    """Forget whatever a connection was left with (start of a request or a task)."""
    if _is_postgres() and connection.connection is not None:
        _write("", "", "")


def activate_tenant(tenant_id: UUID | str, *, user_id: int | None = None) -> None:
    """Set the tenant for the rest of this request; the request middleware restores what was before."""
    current_tenant_id.set(str(tenant_id))
    if _is_postgres():
        _write(str(tenant_id), "" if user_id is None else str(user_id), "")


def request_context(*, user_id: int | None, bypass: bool = False) -> AbstractContextManager[None]:
    """The base context of one web request: nothing visible but the signed-in user's memberships."""
    return _database_context("", "" if user_id is None else str(user_id), "on" if bypass else "")


# SQLite (the embedded default) lets one writer in at a time and makes the others sleep and retry with
# growing pauses. The threads of one process queue here for their turn instead, which is cheaper than
# sleeping and keeps the slowest requests quicker. PostgreSQL takes concurrent writes and skips this.
_sqlite_writes = threading.Lock()


@contextmanager
def write_transaction() -> Iterator[None]:
    """``transaction.atomic()`` for a short burst of writes (usage of a prediction, say); on SQLite, the
    outermost one first waits for this process's other writers.

    Inside a caller's transaction it only nests: that thread may already hold SQLite's lock, and waiting
    here for a thread that waits for that lock would stall both.
    """
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with _sqlite_writes, transaction.atomic():
            yield
    else:
        with transaction.atomic():
            yield
