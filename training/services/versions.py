"""Model versions: deploy one (or roll back to it), announced to webhooks and to this process's serving."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from tenants.errors import NotFound
from tenants.models import Tenant
from training import signals
from training.models import ModelVersion
from webhooks.models import EventType
from webhooks.services import emit_event

if TYPE_CHECKING:
    pass


@transaction.atomic
def model_deploy(*, tenant: Tenant, version_id: UUID) -> ModelVersion:
    """Make this version the one the project serves (also how a rollback is done)."""
    version = ModelVersion.objects.for_tenant(tenant).select_for_update().filter(pk=version_id).first()
    if version is None:
        raise NotFound("No such model version.")
    if not version.is_active:
        ModelVersion.objects.for_tenant(tenant).filter(project_id=version.project_id, is_active=True).update(
            is_active=False
        )
        version.is_active = True
        version.deployed_at = timezone.now()
        version.save(update_fields=["is_active", "deployed_at"])
        announce_deployed(version)
        transaction.on_commit(lambda: signals.model_deployed.send(sender=ModelVersion, version=version))
    return version


def announce_deployed(version: ModelVersion) -> None:
    emit_event(
        tenant=version.tenant_id,
        event_type=EventType.MODEL_DEPLOYED,
        data={"model_version_id": str(version.pk), "project_id": str(version.project_id), "version": version.version},
    )
