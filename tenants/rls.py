"""Row-level security on PostgreSQL, as a migration operation each tenant table's migration applies.

A row is visible (and writable) when ``app.bypass_rls`` is on or its ``tenant_id`` equals
``app.tenant_id``; ``extra_using`` widens what may be read (memberships: the user's own rows, so
that a user can list the tenants they belong to). FORCE makes the policy bind the table's owner too,
which is the role the application connects as. A superuser or a BYPASSRLS role ignores all of it;
the ``tenants.W001`` check warns when the application connects as one.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

_TENANT_MATCH = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
_BYPASS = "current_setting('app.bypass_rls', true) = 'on'"


class EnableRowLevelSecurity(migrations.operations.base.Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str, extra_using: str = "") -> None:
        self.table = table
        self.extra_using = extra_using

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs = {"extra_using": self.extra_using} if self.extra_using else {}
        return (self.__class__.__qualname__, [self.table], kwargs)

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(self.table)
        using = f"{_BYPASS} OR {_TENANT_MATCH}"
        if self.extra_using:
            using += f" OR {self.extra_using}"
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        schema_editor.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING ({using}) WITH CHECK ({_BYPASS} OR {_TENANT_MATCH})"
        )

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(self.table)
        schema_editor.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        schema_editor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")

    def describe(self) -> str:
        return f"Enable row-level security on {self.table}"
