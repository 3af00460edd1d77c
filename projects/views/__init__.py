"""Dashboard pages of projects (``projects``) and their datasets (``datasets``)."""

from projects.views.base import ProjectTenantView

__all__ = ["ProjectTenantView"]
