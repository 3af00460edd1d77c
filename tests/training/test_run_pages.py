"""Training pages of the dashboard: start, watch, cancel; compare versions, deploy and roll back."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.models import Role
from tests.factories import model_version, ready_dataset
from training.models import ModelVersion, RunStatus, TrainingRun


def url(name, tenant, project, **kwargs):
    return reverse(f"dashboard:{name}", kwargs={"tenant_slug": tenant.slug, "project_id": project.pk, **kwargs})


def test_a_member_starts_a_run_and_lands_on_its_live_page(client, tenant, project, member_of):
    dataset = ready_dataset(project)
    client.force_login(member_of(tenant, Role.MEMBER).user)

    response = client.post(
        url("run-list", tenant, project),
        {"dataset_id": dataset.pk, "method": "lora", "epochs": "4", "learning_rate": ""},
    )

    run = TrainingRun.objects.for_tenant(tenant).get()
    assert (run.method, run.hyperparameters) == ("lora", {"epochs": 4})
    assert response["Location"] == url("run-detail", tenant, project, run_id=run.pk)
    page = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 2s"' in page and "Waiting for a worker" in page


def test_a_bad_setting_is_explained_and_nothing_starts(client, tenant, project, member_of):
    dataset = ready_dataset(project)
    client.force_login(member_of(tenant, Role.MEMBER).user)

    response = client.post(url("run-list", tenant, project), {"dataset_id": dataset.pk, "epochs": "500"}, follow=True)

    assert "epochs must be between 1 and 50" in response.content.decode()
    assert not TrainingRun.objects.for_tenant(tenant).exists()


def test_the_live_part_shows_progress_history_and_stops_polling_when_done(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    run = TrainingRun.all_tenants.create(
        tenant=tenant,
        project=project,
        base_model="minilm-l6",
        status=RunStatus.RUNNING,
        progress={
            "phase": "training",
            "epoch": 2,
            "epochs": 5,
            "step": 30,
            "total_steps": 100,
            "loss": 0.5,
            "eta_s": 42,
        },
        history=[{"epoch": 1, "train_loss": 0.9, "val_macro_f1": 0.61, "val_accuracy": 0.7, "seconds": 12}],
    )
    target = url("run-detail", tenant, project, run_id=run.pk)

    live = client.get(target, HTTP_HX_REQUEST="true").content.decode()
    assert "epoch 2 of 5, step 30 of 100" in live and 'value="30"' in live and "0.610" in live
    TrainingRun.objects.for_tenant(tenant).filter(pk=run.pk).update(
        status=RunStatus.FAILED, error_message="It ran out of memory."
    )
    finished = client.get(target, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in finished and "It ran out of memory." in finished


def test_cancel_from_the_page(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)
    run = TrainingRun.all_tenants.create(tenant=tenant, project=project, base_model="minilm-l6")

    client.post(url("run-cancel", tenant, project, run_id=run.pk))

    assert TrainingRun.objects.for_tenant(tenant).get().status == RunStatus.CANCELLED


def test_versions_side_by_side_with_deploy_and_rollback(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)
    v1, v2 = model_version(tenant, project, 1), model_version(tenant, project, 2)
    ModelVersion.objects.for_tenant(tenant).filter(pk=v1.pk).update(
        metrics={"macro_f1": 0.6, "per_class": {"a": {"f1-score": 0.5}}}
    )
    ModelVersion.objects.for_tenant(tenant).filter(pk=v2.pk).update(
        metrics={"macro_f1": 0.7, "per_class": {"a": {"f1-score": 0.75}}}
    )

    client.post(url("model-deploy", tenant, project, version_id=v1.pk))
    page = client.get(url("model-list", tenant, project)).content.decode()

    assert "v1 (serving)" in page and "Deploy v2" in page and "(+0.250)" in page
    client.post(url("model-deploy", tenant, project, version_id=v2.pk))
    assert "Roll back to v1" in client.get(url("model-list", tenant, project)).content.decode()


PAGES = [
    ("GET", "run-list"),
    ("POST", "run-list"),
    ("GET", "run-detail"),
    ("POST", "run-cancel"),
    ("GET", "model-list"),
    ("POST", "model-deploy"),
]


@pytest.fixture
def objects(tenant, project):
    run = TrainingRun.all_tenants.create(tenant=tenant, project=project, base_model="minilm-l6")
    return {"run_id": run.pk, "version_id": model_version(tenant, project, 1).pk, "dataset": ready_dataset(project)}


def _hit(client, method, name, tenant, project, objects):
    kwargs = {k: objects[k] for k in ("run_id",) if name.startswith("run-") and name != "run-list"}
    if name == "model-deploy":
        kwargs = {"version_id": objects["version_id"]}
    target = url(name, tenant, project, **kwargs)
    return client.get(target) if method == "GET" else client.post(target, {"dataset_id": objects["dataset"].pk})


@pytest.mark.parametrize(("method", "name"), PAGES)
def test_anonymous_is_sent_to_log_in(client, tenant, project, objects, method, name):
    assert "/accounts/login/" in _hit(client, method, name, tenant, project, objects)["Location"]


@pytest.mark.parametrize(("method", "name"), PAGES)
def test_another_tenants_member_gets_404(client, tenant, other_tenant, project, objects, member_of, method, name):
    client.force_login(member_of(other_tenant, Role.OWNER).user)
    assert _hit(client, method, name, tenant, project, objects).status_code == 404


@pytest.mark.parametrize(("method", "name"), [p for p in PAGES if p[0] == "POST"])
def test_a_viewer_cannot_start_cancel_or_deploy(client, tenant, project, objects, member_of, method, name):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    runs = set(TrainingRun.objects.for_tenant(tenant).values_list("pk", "status"))
    assert _hit(client, method, name, tenant, project, objects).status_code == 403
    assert set(TrainingRun.objects.for_tenant(tenant).values_list("pk", "status")) == runs
    assert not ModelVersion.objects.for_tenant(tenant).filter(is_active=True).exists()


@pytest.mark.parametrize(("method", "name"), [p for p in PAGES if p[0] == "GET"])
def test_a_viewer_can_look(client, tenant, project, objects, member_of, method, name):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    assert _hit(client, method, name, tenant, project, objects).status_code == 200
