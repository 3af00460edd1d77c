"""Training pages of the dashboard: start, watch, cancel; compare versions, deploy and roll back."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.urls import reverse

from tenants.models import Role
from tests.billing.test_pages import on_plan
from tests.factories import model_version, ready_dataset
from training.models import ModelVersion, RunStatus, TrainingRun


def text(html: str) -> str:
    """What a person reads: tags dropped, white space collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


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
    page = text(client.get(response["Location"]).content.decode())
    assert "Queued — waiting for a worker (position 1)" in page


def test_a_bad_setting_is_explained_and_nothing_starts(client, tenant, project, member_of):
    dataset = ready_dataset(project)
    client.force_login(member_of(tenant, Role.MEMBER).user)

    response = client.post(url("run-list", tenant, project), {"dataset_id": dataset.pk, "epochs": "500"})

    assert response.status_code == 400
    assert "Epochs must be a whole number between 1 and 50 (not 500)." in response.content.decode()
    assert not TrainingRun.objects.for_tenant(tenant).exists()


def test_every_bad_setting_is_shown_beside_its_field_with_what_was_typed_and_nothing_starts(
    client, tenant, project, member_of
):
    dataset = ready_dataset(project)
    client.force_login(member_of(tenant, Role.MEMBER).user)

    response = client.post(
        url("run-list", tenant, project),
        {"dataset_id": dataset.pk, "method": "lora", "epochs": "abc", "learning_rate": "5", "batch_size": "16"},
    )

    assert response.status_code == 400
    page = response.content.decode()
    # A word in a number's field is refused, not dropped: the run would otherwise train with the default.
    assert 'id="epochs-error"' in page and "Epochs must be a whole number between 1 and 50 (not abc)." in page
    assert "Learning rate must be a number between 0.000001 and 0.01 (not 5)." in page
    assert "learning_rate" not in text(page)  # people read labels, not the API's field names
    assert 'name="epochs" inputmode="numeric" placeholder="auto" value="abc" aria-invalid="true"' in page
    assert 'value="16"' in page and '<option value="lora" selected>' in page
    assert "<details open>" in page
    assert not TrainingRun.objects.for_tenant(tenant).exists()


def test_a_datasets_train_link_preselects_it_and_the_estimate_is_for_it(client, tenant, project, member_of, plans):
    on_plan(tenant, "free")
    ready_dataset(project, name="small.csv", rows_usable=100, label_count=2)
    large = ready_dataset(project, name="large.csv", rows_usable=4_800, label_count=4)  # 7 epochs: 7 minutes
    client.force_login(member_of(tenant, Role.MEMBER).user)

    page = client.get(url("run-list", tenant, project), {"dataset": large.pk}).content.decode()

    assert f'<option value="{large.pk}" selected>' in page
    assert "About 7 minutes of training" in text(page)


def test_the_estimate_follows_the_chosen_dataset_as_the_form_changes(client, tenant, project, member_of, plans):
    on_plan(tenant, "free")
    ready_dataset(project, name="large.csv", rows_usable=4_800, label_count=4)
    small = ready_dataset(project, name="small.csv", rows_usable=100, label_count=2)
    client.force_login(member_of(tenant, Role.MEMBER).user)

    # What htmx asks when the dataset select changes: the estimate's part alone, for that dataset.
    response = client.get(
        url("run-list", tenant, project),
        {"dataset_id": small.pk, "method": "full", "epochs": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="training-estimate",
    )

    part = response.content.decode()
    assert part.startswith('<p id="training-estimate"') and "<table" not in part
    assert "About 1 minute of training" in text(part)


def test_the_runs_list_pages_and_filters_by_status(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    for n in range(27):
        TrainingRun.all_tenants.create(
            tenant=tenant,
            project=project,
            base_model="minilm-l6",
            status=RunStatus.FAILED if n < 3 else RunStatus.SUCCEEDED,
        )

    first = client.get(url("run-list", tenant, project)).content.decode()
    second = client.get(url("run-list", tenant, project), {"page": "2"}).content.decode()
    failed = client.get(url("run-list", tenant, project), {"status": "failed"}).content.decode()

    assert first.count("status status-") == 25 and "Page 1 of 2 · 27 in all" in first
    assert second.count("status status-") == 2
    assert failed.count("status status-failed") == 3 and "status status-succeeded" not in failed
    assert '<option value="failed" selected>' in failed
    unknown = client.get(url("run-list", tenant, project), {"status": "done"})
    assert unknown.status_code == 400 and "Status must be one of queued, running, succeeded" in text(
        unknown.content.decode()
    )


def running_run(tenant, project, **progress):
    return TrainingRun.all_tenants.create(
        tenant=tenant,
        project=project,
        base_model="minilm-l6",
        status=RunStatus.RUNNING,
        progress={"phase": "training", "epoch": 1, "epochs": 5, "step": 0, "total_steps": 100, **progress},
    )


def live(client, tenant, project, run) -> str:
    return client.get(url("run-detail", tenant, project, run_id=run.pk), HTTP_HX_REQUEST="true").content.decode()


def test_the_live_part_shows_progress_history_and_stops_polling_when_done(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    run = running_run(
        tenant,
        project,
        epoch=2,
        step=30,
        loss=0.5,
        eta_s=4491,
    )
    TrainingRun.objects.for_tenant(tenant).filter(pk=run.pk).update(
        history=[{"epoch": 1, "train_loss": 0.9, "val_macro_f1": 0.61, "val_accuracy": 0.7, "seconds": 12}]
    )

    page = text(live(client, tenant, project, run))
    assert "Running — epoch 2 of 5" in page
    assert "step 30 of 100 · loss 0.5000 · about 1 h 15 min left" in page
    assert "4491" not in page and "0.610" in page
    TrainingRun.objects.for_tenant(tenant).filter(pk=run.pk).update(
        status=RunStatus.FAILED, error_message="It ran out of memory."
    )
    finished = live(client, tenant, project, run)
    assert "hx-trigger" not in finished and "It ran out of memory." in finished


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(40, "about 40 s left"), (3, "about 5 s left"), (190, "about 3 min left"), (7200, "about 2 h left")],
)
def test_the_time_left_reads_as_people_say_it(client, tenant, project, member_of, seconds, shown):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    assert shown in text(live(client, tenant, project, running_run(tenant, project, step=1, eta_s=seconds)))


def test_a_queued_run_says_where_it_stands_in_the_queue(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    ahead = TrainingRun.all_tenants.create(tenant=tenant, project=project, base_model="minilm-l6")
    run = TrainingRun.all_tenants.create(tenant=tenant, project=project, base_model="minilm-l6")

    assert "Queued — waiting for a worker (position 2)" in text(live(client, tenant, project, run))
    assert "Queued — waiting for a worker (position 1)" in text(live(client, tenant, project, ahead))


def test_a_run_just_claimed_reads_as_preparing_not_waiting(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    run = TrainingRun.all_tenants.create(
        tenant=tenant, project=project, base_model="minilm-l6", status=RunStatus.RUNNING, progress={"phase": "queued"}
    )

    page = text(live(client, tenant, project, run))
    assert "Running — preparing the data and the model" in page and "waiting" not in page


def chart_of(page: str) -> dict:
    return json.loads(re.search(r'<script id="run-chart-data" type="application/json">(.*?)</script>', page, re.S)[1])


def test_the_chart_plots_step_losses_before_the_first_epoch_ends(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    run = running_run(tenant, project, step=10, loss_curve=[[5, 1.2], [10, 0.9]])

    chart = chart_of(live(client, tenant, project, run))

    # 100 steps over 5 epochs: step 10 is half way through the first epoch.
    assert chart["loss"] == [{"x": 0.25, "y": 1.2}, {"x": 0.5, "y": 0.9}]
    assert chart["f1"] == [] and chart["epochs"] == 5


def succeeded_run(tenant, project, *, best, ran, planned):
    history = [
        {"epoch": e, "train_loss": 1 / e, "val_macro_f1": 0.91 if e == best else 0.8, "val_accuracy": 0.9}
        for e in range(1, ran + 1)
    ]
    return TrainingRun.all_tenants.create(
        tenant=tenant,
        project=project,
        base_model="minilm-l6",
        status=RunStatus.SUCCEEDED,
        history=history,
        metrics={"macro_f1": 0.91, "best_epoch": best, "epochs_run": ran, "evaluated_on": "validation"},
        progress={"phase": "succeeded", "epoch": ran, "epochs": planned, "best_epoch": best},
    )


def test_an_early_stop_says_which_epoch_was_kept_and_why(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    run = succeeded_run(tenant, project, best=4, ran=6, planned=15)

    page = text(client.get(url("run-detail", tenant, project, run_id=run.pk)).content.decode())

    assert (
        "Stopped early after epoch 6 of 15: validation macro-F1 did not improve for 2 epochs; "
        "kept epoch 4 (validation macro-F1 0.910)."
    ) in page


def test_a_run_that_ran_all_its_epochs_says_which_it_kept(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    run = succeeded_run(tenant, project, best=3, ran=5, planned=5)

    page = text(client.get(url("run-detail", tenant, project, run_id=run.pk)).content.decode())

    assert "Ran all 5 epochs; kept epoch 3 (validation macro-F1 0.910), the best of them." in page
    assert "Stopped early" not in page


def test_cancel_asks_first_in_the_browser_and_without_javascript(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)
    run = running_run(tenant, project, step=3)
    cancel = url("run-cancel", tenant, project, run_id=run.pk)

    live_part = live(client, tenant, project, run)
    assert f'action="{cancel}" data-confirm="Cancel this training run?' in live_part
    assert 'data-confirm-field="confirm"' in live_part  # confirm.js adds confirm=yes once agreed
    # Without the confirmation (no JavaScript ran): a page asks, and the run trains on.
    asked = client.post(cancel)
    assert asked.status_code == 200 and "Cancel this training run?" in asked.content.decode()
    assert 'name="confirm" value="yes"' in asked.content.decode()
    assert client.get(cancel).status_code == 200
    assert not TrainingRun.objects.for_tenant(tenant).get().cancel_requested

    done = client.post(cancel, {"confirm": "yes"})

    assert done["Location"] == url("run-detail", tenant, project, run_id=run.pk)
    assert TrainingRun.objects.for_tenant(tenant).get().cancel_requested


def test_cancel_from_the_page(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)
    run = TrainingRun.all_tenants.create(tenant=tenant, project=project, base_model="minilm-l6")

    client.post(url("run-cancel", tenant, project, run_id=run.pk), {"confirm": "yes"})

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


def test_a_succeeded_run_links_to_its_versions_evaluation(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)
    version = model_version(tenant, project, 1)

    page = client.get(url("run-detail", tenant, project, run_id=version.training_run_id)).content.decode()

    assert f'<a href="{url("model-evaluation", tenant, project, version_id=version.pk)}">Evaluation of v1 →</a>' in page
