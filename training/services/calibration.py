"""Adopt a calibrated confidence threshold: one click sets the project's threshold to a version's suggestion.

Each single-label version's evaluation holds thresholds suggested on its calibrated validation scores
(``training.engine.calibration``), each promising a share flagged ``needs_human`` and the accuracy of
the rest. Adopting one writes it to the project's ``confidence_threshold`` (serving reads it from the
next request on) and records who did it, from which version and what it promised, in the audit log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import transaction

from projects.models import Project
from projects.services import project_update
from tenants.errors import InvalidInput, NotFound
from tenants.models import AuditAction, Tenant
from tenants.services.audit import audit_record
from training.models import ModelVersion

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def calibration_of(version: ModelVersion) -> dict[str, Any]:
    """The version's calibration entry, or {} when its evaluation has none (trained before calibration)."""
    entry = (version.metrics or {}).get("calibration")
    return entry if isinstance(entry, dict) else {}


@transaction.atomic
def threshold_adopt(
    *,
    tenant: Tenant,
    project_id: UUID,
    version_id: UUID,
    key: str,
    actor: User | None = None,
    ip_address: str | None = None,
) -> tuple[Project, dict[str, Any]]:
    """Set the project's confidence threshold to its version's suggestion ``key`` (e.g. ``precision_95``).

    Returns the project and the suggestion adopted. NotFound for a version of another project or
    tenant; InvalidInput for a version without calibrated suggestions or a key it does not suggest.
    """
    version = ModelVersion.objects.for_tenant(tenant).filter(pk=version_id, project_id=project_id).first()
    if version is None:
        raise NotFound("No such model version.")
    calibration = calibration_of(version)
    suggestions = calibration.get("suggestions") or []
    if calibration.get("method") != "temperature" or not suggestions:
        reason = calibration.get("reason") or "it was trained before calibration; train a new version to get them."
        raise InvalidInput(f"v{version.version} has no suggested thresholds: {reason}", code="not_calibrated")
    suggestion = next((s for s in suggestions if s.get("key") == key), None)
    if suggestion is None:
        known = ", ".join(str(s.get("key")) for s in suggestions)
        raise InvalidInput(
            f"v{version.version} suggests no threshold {key!r}; it suggests: {known}.",
            code="unknown_suggestion",
            field="key",
        )
    threshold = float(suggestion["threshold"])
    locked = Project.objects.for_tenant(tenant).select_for_update().filter(pk=project_id)
    previous = locked.values_list("confidence_threshold", flat=True).first()
    project = project_update(tenant=tenant, project_id=version.project_id, confidence_threshold=threshold)
    audit_record(
        tenant=tenant,
        action=AuditAction.CONFIDENCE_THRESHOLD_ADOPTED,
        actor=actor,
        target_label=project.name,
        ip_address=ip_address,
        project_id=str(project.pk),
        version=version.version,
        suggestion=key,
        previous_threshold=previous,
        threshold=threshold,
        flagged_share=suggestion.get("flagged_share"),
        accuracy_of_rest=suggestion.get("accuracy_of_rest"),
    )
    return project, suggestion
