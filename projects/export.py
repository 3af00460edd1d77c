"""The projects' part of a tenant's data export: each project's settings and its datasets, each stored file
as uploaded beside its data check report. ``project_folder`` names a project's folder in the archive for
the parts of the apps above (training, serving)."""

from __future__ import annotations

from django.db.models import Count, Sum

from projects.models import Dataset, Project
from tenants.export import ExportArchive, safe_name
from tenants.models import Tenant


def project_folder(project: Project) -> str:
    """``projects/<name>-<first 8 of its id>``: readable, and unique even for names that clean alike."""
    return f"projects/{safe_name(project.name, fallback='project')}-{str(project.pk)[:8]}"


def write_projects(tenant: Tenant, archive: ExportArchive) -> None:
    for project in Project.objects.for_tenant(tenant).order_by("created_at"):
        archive.add_json(
            f"{project_folder(project)}/project.json",
            {
                "id": project.pk,
                "name": project.name,
                "description": project.description,
                "use_case": project.use_case,
                "multi_label": project.multi_label,
                "confidence_threshold": project.confidence_threshold,
                "review_low_confidence": project.review_low_confidence,
                "created_at": project.created_at,
                "updated_at": project.updated_at,
            },
            description="The project's settings.",
        )
    datasets = Dataset.objects.for_tenant(tenant).select_related("project").order_by("created_at")
    for dataset in datasets.iterator(chunk_size=200):
        folder = f"{project_folder(dataset.project)}/datasets"
        archive.add_stored(
            f"{folder}/{dataset.pk}/{safe_name(dataset.name, fallback='dataset')}",
            dataset.file,
            description=f"Dataset {dataset.name} v{dataset.version}, as uploaded.",
        )
        archive.add_json(f"{folder}/{dataset.pk}.check.json", _check_of(dataset), description="Its data check.")


def _check_of(dataset: Dataset) -> dict[str, object]:
    return {
        "id": dataset.pk,
        "name": dataset.name,
        "version": dataset.version,
        "parent_id": dataset.parent_id,
        "status": dataset.status,
        "size_bytes": dataset.size_bytes,
        "sha256": dataset.sha256,
        "format": dataset.format,
        "encoding": dataset.encoding,
        "text_column": dataset.text_column,
        "label_column": dataset.label_column,
        "multi_label": dataset.multi_label,
        "rows_read": dataset.rows_read,
        "rows_usable": dataset.rows_usable,
        "label_count": dataset.label_count,
        "created_at": dataset.created_at,
        "checked_at": dataset.checked_at,
        "report": dataset.report,
    }


def summarize_projects(tenant: Tenant) -> str:
    projects = Project.objects.for_tenant(tenant).count()
    datasets = Dataset.objects.for_tenant(tenant).aggregate(n=Count("id"), size=Sum("size_bytes"))
    megabytes = (datasets["size"] or 0) / 1_000_000
    return f"{projects} projects, {datasets['n']} datasets, {megabytes:.1f} MB of files"
