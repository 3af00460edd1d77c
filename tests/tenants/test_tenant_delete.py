"""Deleting an organization: its owner (after typing its name) or an operator; its rows go, and once that
commits, every stored file under ``tenants/<id>/`` and the local copies of its models and checkpoints."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from billing.models import MeterPush, UsageRecord
from projects.models import Project
from tenants.models import Role, Tenant
from tenants.storage import tenant_file_path
from tests.factories import ProjectFactory, dashboard_url, model_version, stored_files


@pytest.fixture
def local_dirs(settings: Any, tmp_path: Path) -> tuple[Path, Path]:
    settings.INFERENCE_ARTIFACT_DIR = tmp_path / "models"
    settings.TRAINING_WORK_DIR = tmp_path / "training"
    return settings.INFERENCE_ARTIFACT_DIR, settings.TRAINING_WORK_DIR


def fill(tenant: Tenant, local_dirs: tuple[Path, Path]) -> list[Path]:
    """Stored files of two projects and of the organization itself, and local copies of a model."""
    for name in ("Intents", "Refunds"):
        project = ProjectFactory(tenant=tenant, name=name)
        version = model_version(tenant, project, 1)
        prefix = tenant_file_path(tenant.pk, "projects", str(project.pk), "models", str(version.training_run_id))
        default_storage.save(f"{prefix}/model.safetensors", ContentFile(b"weights"))
        default_storage.save(f"{prefix}/parity_texts.json", ContentFile(b'["a customer text"]'))
    default_storage.save(tenant_file_path(tenant.pk, "exports", "x.zip"), ContentFile(b"zip"))
    push = MeterPush.all_tenants.create(
        tenant=tenant,
        kind="prediction",
        day=timezone.now().date(),
        timestamp=timezone.now(),
        quantity=3,
        stripe_customer_id="cus_1",
    )
    UsageRecord.all_tenants.create(tenant=tenant, kind="prediction", quantity=3, project=project, push=push)
    copy = local_dirs[0] / str(version.pk)
    checkpoint = local_dirs[1] / str(version.training_run_id)
    for folder in (copy, checkpoint):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"weights")
    return [copy, checkpoint]


def page(tenant: Tenant) -> str:
    return dashboard_url("tenant-delete", tenant)


def test_the_owner_deletes_the_organization_after_typing_its_name(
    client, tenant, other_tenant, owner, local_dirs, run_tasks, caplog, django_capture_on_commit_callbacks
):
    local = fill(tenant, local_dirs)
    fill(other_tenant, local_dirs)
    theirs = stored_files(other_tenant)
    client.force_login(owner.user)

    members = client.get(dashboard_url("member-list", tenant)).content.decode()
    shown = client.get(page(tenant))
    wrong = client.post(page(tenant), {"confirm": "Acme"})
    assert Tenant.objects.filter(pk=tenant.pk).exists() and stored_files(tenant)
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        done = client.post(page(tenant), {"confirm": tenant.name})

    assert page(tenant) in members  # the owner finds the page
    assert shown.status_code == 200 and "Type" in shown.content.decode()
    assert wrong.status_code == 400 and "Type the name of the organization exactly" in wrong.content.decode()
    assert done.status_code == 302 and done["Location"] == reverse("dashboard:home")
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    assert not Project.all_tenants.filter(tenant_id=tenant.pk).exists()
    assert not UsageRecord.all_tenants.filter(tenant_id=tenant.pk).exists()
    assert stored_files(tenant) == [] and not default_storage.exists(tenant_file_path(tenant.pk))
    assert [folder for folder in local if folder.exists()] == []
    assert stored_files(other_tenant) == theirs  # another organization's files stay
    deleted = [r for r in caplog.records if "tenant.deleted" in r.getMessage()]
    assert len(deleted) == 1 and str(tenant.pk) in deleted[0].getMessage()
    assert owner.user.email in deleted[0].getMessage()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER, Role.VIEWER])
def test_only_an_owner_may_delete_the_organization(client, tenant, member_of, role):
    client.force_login(member_of(tenant, role).user)

    assert client.get(page(tenant)).status_code == 403
    assert client.post(page(tenant), {"confirm": tenant.name}).status_code == 403
    assert Tenant.objects.filter(pk=tenant.pk).exists()


def test_another_organizations_owner_gets_404(client, tenant, other_tenant, member_of):
    client.force_login(member_of(other_tenant, Role.OWNER).user)

    assert client.post(page(tenant), {"confirm": tenant.name}).status_code == 404
    assert Tenant.objects.filter(pk=tenant.pk).exists()


def test_an_operator_deletes_a_tenant_with_its_files_from_the_admin(
    client, operator, tenant, other_tenant, local_dirs, run_tasks, django_capture_on_commit_callbacks
):
    local = fill(tenant, local_dirs)
    fill(other_tenant, local_dirs)
    theirs = stored_files(other_tenant)
    client.force_login(operator)

    changelist = reverse("admin:tenants_tenant_changelist")
    selected = {"action": "delete_tenant", "_selected_action": [str(tenant.pk)]}

    asked = client.post(changelist, selected)
    wrong = client.post(changelist, {**selected, "confirm": "Globex"})
    assert Tenant.objects.filter(pk=tenant.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, {**selected, "confirm": tenant.name})

    assert asked.status_code == 200 and "Type the tenant" in asked.content.decode()
    assert wrong.status_code == 200 and "Type the name of the organization exactly" in wrong.content.decode()
    assert response.status_code == 302
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    assert stored_files(tenant) == [] and [folder for folder in local if folder.exists()] == []
    assert stored_files(other_tenant) == theirs
