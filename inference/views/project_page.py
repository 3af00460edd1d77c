"""What serving adds to a project's page: the version it serves (for the try-it box) and its monitors."""

from __future__ import annotations

from typing import Any

from inference import selectors
from projects.models import Project
from tenants.models import Tenant


def project_page_section(tenant: Tenant, project: Project) -> dict[str, Any]:
    return {
        "active_version": selectors.active_version(project=project),
        "monitors": selectors.monitors_of(tenant=tenant, project=project),
    }
