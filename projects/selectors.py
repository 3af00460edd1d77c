"""Reads for projects."""

from __future__ import annotations

from django.db.models import QuerySet

from projects.models import Dataset, DatasetStatus, Project
from tenants.models import Tenant


def projects_of(*, tenant: Tenant) -> QuerySet[Project]:
    return Project.objects.for_tenant(tenant).order_by("name")


def projects_matching(*, tenant: Tenant, q: str = "", use_case: str = "") -> QuerySet[Project]:
    """The projects list under its search (in the name) and use-case filter, by name."""
    projects = projects_of(tenant=tenant)
    if q:
        projects = projects.filter(name__icontains=q)
    if use_case:
        projects = projects.filter(use_case=use_case)
    return projects


def project_of(*, tenant: Tenant, project_id: object) -> Project | None:
    return Project.objects.for_tenant(tenant).filter(pk=project_id).first()


def datasets_of(*, tenant: Tenant, project: Project) -> QuerySet[Dataset]:
    return Dataset.objects.for_tenant(tenant).filter(project=project)


def datasets_listed(*, tenant: Tenant, project: Project, search: str = "", status: str = "") -> QuerySet[Dataset]:
    """The project's datasets for its list, newest first: names containing ``search``, of ``status`` if given."""
    datasets = datasets_of(tenant=tenant, project=project).select_related("uploaded_by").order_by("-created_at", "-pk")
    if search:
        datasets = datasets.filter(name__icontains=search)
    if status:
        datasets = datasets.filter(status=status)
    return datasets


def ready_datasets_of(*, tenant: Tenant, project: Project) -> QuerySet[Dataset]:
    """The project's datasets that passed their check: what a run or a review may start from."""
    return datasets_of(tenant=tenant, project=project).filter(status=DatasetStatus.READY)


def dataset_of(*, tenant: Tenant, project_id: object, dataset_id: object) -> Dataset | None:
    return (
        Dataset.objects.for_tenant(tenant)
        .select_related("project", "uploaded_by", "parent")
        .filter(pk=dataset_id, project_id=project_id)
        .first()
    )


def dataset_versions(*, tenant: Tenant, dataset: Dataset) -> QuerySet[Dataset]:
    """Every version of a dataset's name in its project, oldest first."""
    return Dataset.objects.for_tenant(tenant).filter(project=dataset.project_id, name=dataset.name).order_by("version")
