"""Training's part of a tenant's data export: each training run's metadata and each model version's
metadata and evaluation report (never its weights)."""

from __future__ import annotations

from projects.export import project_folder
from tenants.export import ExportArchive
from tenants.models import Tenant
from training.models import ModelVersion, TrainingRun


def write_training(tenant: Tenant, archive: ExportArchive) -> None:
    runs = TrainingRun.objects.for_tenant(tenant).select_related("project").order_by("created_at")
    for run in runs.iterator(chunk_size=200):
        archive.add_json(
            f"{project_folder(run.project)}/training_runs/{run.pk}.json",
            {
                "id": run.pk,
                "dataset_id": run.dataset_id,
                "status": run.status,
                "base_model": run.base_model,
                "method": run.method,
                "hyperparameters": run.hyperparameters,
                "history": run.history,
                "metrics": run.metrics,
                "error_code": run.error_code,
                "error_message": run.error_message,
                "attempts": run.attempts,
                "created_at": run.created_at,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
            },
            description="A training run: hyperparameters, history, status.",
        )
    versions = ModelVersion.objects.for_tenant(tenant).select_related("project").order_by("created_at")
    for version in versions.iterator(chunk_size=200):
        archive.add_json(
            f"{project_folder(version.project)}/model_versions/v{version.version}.json",
            {
                "id": version.pk,
                "version": version.version,
                "training_run_id": version.training_run_id,
                "base_model": version.base_model,
                "method": version.method,
                "multi_label": version.multi_label,
                "label_names": version.label_names,
                "thresholds": version.thresholds,
                "metrics": version.metrics,
                "parity": version.parity,
                "serving_precision": version.serving_precision,
                "size_bytes": version.size_bytes,
                "is_active": version.is_active,
                "deployed_at": version.deployed_at,
                "created_at": version.created_at,
            },
            description="A model version: metrics, labels, thresholds, parity (weights not included).",
        )


def summarize_training(tenant: Tenant) -> str:
    runs = TrainingRun.objects.for_tenant(tenant).count()
    versions = ModelVersion.objects.for_tenant(tenant).count()
    return f"{runs} training runs, {versions} model versions"
