"""Exporting an organization's data: its owner downloads one zip of datasets (files and data checks), model
versions' reports, training runs, projects, monitors and usage, with a manifest; nobody else can, no other
tenant's data is in it, and each export is in the audit log."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from billing.models import UsageRecord
from inference.models import AlertRule, Monitor
from tenants.models import AuditAction, AuditEvent, Role, Tenant
from tenants.storage import tenant_file_path
from tests.factories import ProjectFactory, dashboard_url, model_version, ready_dataset

ORIGINAL = b"text,label\nmy card was charged twice,billing\nwhere is my parcel,delivery\n"


def fill(tenant: Tenant, *, marker: str) -> dict[str, Any]:
    """A project with a stored dataset, a model version (and its run), a monitor with a rule and usage."""
    project = ProjectFactory(tenant=tenant, name=f"Intents {marker}")
    path = tenant_file_path(tenant.pk, "projects", str(project.pk), "datasets", "d", "original.csv")
    stored = default_storage.save(path, ContentFile(ORIGINAL.replace(b"twice", marker.encode())))
    dataset = ready_dataset(project, name=f"{marker}.csv", file=stored, report={"duplicates": 0, "marker": marker})
    version = model_version(tenant, project, 1)
    version.metrics = {"macro_f1": 0.87, "marker": marker}
    version.thresholds = {"a": 0.4}
    version.save()
    monitor = Monitor.all_tenants.create(tenant=tenant, project=project, name=f"Mentions {marker}")
    AlertRule.all_tenants.create(tenant=tenant, monitor=monitor, label="a", threshold=0.4)
    UsageRecord.all_tenants.create(tenant=tenant, project=project, kind="prediction", source="api", quantity=7)
    UsageRecord.all_tenants.create(tenant=tenant, project=project, kind="training_minute", source="worker", quantity=3)
    return {"project": project, "dataset": dataset, "version": version}


def download(client, tenant: Tenant):
    return client.post(dashboard_url("tenant-export", tenant))


def archive_of(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_owners_archive_holds_their_data_and_a_manifest(client, tenant, owner):
    made = fill(tenant, marker="acme")
    client.force_login(owner.user)

    response = download(client, tenant)

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    today = timezone.now().date().isoformat()
    assert f'filename="acme-export-{today}.zip"' in response["Content-Disposition"]
    archive = archive_of(response)
    names = archive.namelist()
    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["path"] for f in manifest["files"]}
    assert "README.txt" in names and listed == set(names) - {"manifest.json"}
    assert {p["name"] for p in manifest["parts"]} == {"projects", "training", "monitors", "usage"}
    assert manifest["missing_files"] == []

    dataset_file = next(n for n in names if n.endswith(f"/datasets/{made['dataset'].pk}/acme.csv"))
    assert archive.read(dataset_file) == ORIGINAL.replace(b"twice", b"acme")
    check = json.loads(archive.read(next(n for n in names if n.endswith(f"{made['dataset'].pk}.check.json"))))
    assert check["report"] == {"duplicates": 0, "marker": "acme"} and check["status"] == "ready"

    version = json.loads(archive.read(next(n for n in names if n.endswith("/model_versions/v1.json"))))
    assert version["metrics"] == {"macro_f1": 0.87, "marker": "acme"}
    assert version["label_names"] == ["a", "b"] and version["thresholds"] == {"a": 0.4}
    run = json.loads(archive.read(next(n for n in names if "/training_runs/" in n)))
    assert run["status"] == "succeeded" and "hyperparameters" in run and "history" in run
    project = json.loads(archive.read(next(n for n in names if n.endswith("/project.json"))))
    assert project["name"] == "Intents acme" and "confidence_threshold" in project
    monitor = json.loads(archive.read(next(n for n in names if "/monitors/" in n)))
    assert monitor["name"] == "Mentions acme" and monitor["alert_rules"][0]["threshold"] == 0.4

    usage = list(csv.DictReader(io.StringIO(archive.read("usage.csv").decode())))
    assert list(usage[0]) == ["date", "kind", "source", "quantity", "project"]
    assert sorted((r["kind"], r["source"], r["quantity"], r["project"]) for r in usage) == [
        ("prediction", "api", "7", "Intents acme"),
        ("training_minute", "worker", "3", "Intents acme"),
    ]
    assert not any(n.endswith((".safetensors", ".bin")) for n in names)  # no weights


def test_another_tenants_data_is_not_in_the_archive(client, tenant, other_tenant, owner):
    fill(tenant, marker="acme")
    fill(other_tenant, marker="globex")
    client.force_login(owner.user)

    archive = archive_of(download(client, tenant))

    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"acme" in everything
    assert b"globex" not in everything.lower() and str(other_tenant.pk).encode() not in everything
    assert len([n for n in archive.namelist() if n.endswith("/project.json")]) == 1
    usage = archive.read("usage.csv").decode().strip().splitlines()
    assert len(usage) == 3


def test_only_the_owner_may_export(client, tenant, other_tenant, member_of):
    fill(tenant, marker="acme")
    page = dashboard_url("tenant-export", tenant)
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        client.force_login(member_of(tenant, role).user)
        assert client.get(page).status_code == 403, role
        assert client.post(page).status_code == 403, role
    client.force_login(member_of(other_tenant, Role.OWNER).user)
    assert client.get(page).status_code == 404
    assert client.post(page).status_code == 404
    assert not AuditEvent.all_tenants.filter(action=AuditAction.TENANT_EXPORTED).exists()


def test_each_export_is_in_the_audit_log(client, tenant, owner):
    fill(tenant, marker="acme")
    client.force_login(owner.user)

    archive_of(download(client, tenant))

    event = AuditEvent.objects.for_tenant(tenant).get(action=AuditAction.TENANT_EXPORTED)
    assert event.actor == owner.user and event.target_label.startswith("acme-export-")
    assert event.details["files"] >= 8 and event.details["bytes"] > 0
    assert "Data exported" in client.get(dashboard_url("audit-log", tenant)).content.decode()


def test_the_page_says_what_the_archive_holds_and_is_linked_for_owners(client, tenant, owner, member_of):
    fill(tenant, marker="acme")
    page = dashboard_url("tenant-export", tenant)
    client.force_login(owner.user)

    shown = client.get(page).content.decode()
    members = client.get(dashboard_url("member-list", tenant)).content.decode()
    client.force_login(member_of(tenant, Role.ADMIN).user)
    members_for_admin = client.get(dashboard_url("member-list", tenant)).content.decode()

    assert "1 projects, 1 datasets" in shown and "1 training runs, 1 model versions" in shown
    assert "2 usage records" in shown and "1 monitors, 1 alert rules" in shown
    assert 'method="post"' in shown
    assert page in members and page not in members_for_admin


def test_unsafe_names_and_missing_files_do_not_break_the_archive(client, tenant, owner):
    made = fill(tenant, marker="acme")
    project = made["project"]
    ready_dataset(project, name="../../etc/passwd", file=tenant_file_path(tenant.pk, "gone.csv"))
    client.force_login(owner.user)

    archive = archive_of(download(client, tenant))

    names = archive.namelist()
    assert all(".." not in n.split("/") and not n.startswith("/") for n in names)
    manifest = json.loads(archive.read("manifest.json"))
    assert len(manifest["missing_files"]) == 1 and manifest["missing_files"][0].endswith("/passwd")


def test_a_stale_sign_in_confirms_the_password_before_the_export(client, tenant, owner):
    fill(tenant, marker="acme")
    signed_in_at = timezone.now()
    with time_machine.travel(signed_in_at, tick=False):
        client.force_login(owner.user)
    with time_machine.travel(signed_in_at + timedelta(hours=1), tick=False):
        response = download(client, tenant)

    assert response.status_code == 302 and response["Location"].startswith(reverse("account_reauthenticate"))
    assert not AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.TENANT_EXPORTED).exists()
