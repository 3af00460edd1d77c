"""What training adds to a project's page: the facts its first-steps checklist needs (trained, deployed)."""

from __future__ import annotations

from typing import Any

from projects.models import Project
from tenants.models import Tenant
from training import selectors


def project_page_section(tenant: Tenant, project: Project) -> dict[str, Any]:
    return {
        "run_succeeded": selectors.has_succeeded_run(tenant=tenant, project=project),
        "version_deployed": selectors.has_deployed_version(tenant=tenant, project=project),
    }
