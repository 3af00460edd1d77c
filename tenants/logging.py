import logging

from tenants.db import current_tenant_id


class TenantContextFilter(logging.Filter):
    """Adds ``tenant_id`` to every record, so each log line says whose work it was."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.tenant_id = current_tenant_id.get() or "-"
        return True
