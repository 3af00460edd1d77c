"""Writes for projects and their datasets."""

from projects.services.dataset_checks import TooLarge
from projects.services.datasets import (
    Mapping,
    PreviewIncomplete,
    dataset_apply_fixes,
    dataset_check_stored,
    dataset_delete,
    dataset_preview,
    dataset_upload,
)
from projects.services.projects import EDITABLE_FIELDS, project_create, project_delete, project_update

__all__ = [
    "EDITABLE_FIELDS",
    "Mapping",
    "PreviewIncomplete",
    "TooLarge",
    "dataset_apply_fixes",
    "dataset_check_stored",
    "dataset_delete",
    "dataset_preview",
    "dataset_upload",
    "project_create",
    "project_delete",
    "project_update",
]
