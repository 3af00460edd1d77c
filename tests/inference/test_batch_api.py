"""Batch predictions: submit a file or a dataset, the job's run (called directly here; a real worker runs it in
test_batch_worker), the results CSV, refusals that store nothing, billing once, access."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.storage import default_storage

from billing.models import UsageRecord
from inference.models import BatchPrediction
from inference.services import batches
from tests.factories import NAMES, ProjectFactory

CSV = (
    "id,message,channel\n"
    "1,pizza bread soup,chat\n"
    "2,guitar piano melody,email\n"
    "3,,chat\n"
    '4,"=HYPERLINK(""http://evil"")",chat\n'
    "5,football goal,chat,extra\n"
    "6,cheese rice apple,email\n"
)


def upload(client, project, content: bytes | str, name="messages.csv", **fields):
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        f"/api/v1/projects/{project.pk}/batch-predictions/",
        {"file": _named(data, name), **fields},
        format="multipart",
    )


def _named(data: bytes, name: str) -> io.BytesIO:
    stream = io.BytesIO(data)
    stream.name = name
    return stream


def run(job_id, tenant) -> BatchPrediction:
    return batches.batch_run(tenant_id=str(tenant.pk), batch_id=str(job_id))


def results(client, job_id) -> list[dict[str, str]]:
    response = client.get(f"/api/v1/batch-predictions/{job_id}/results/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def project(tenant):
    return ProjectFactory(tenant=tenant, name="Support")


@pytest.fixture
def client(tenant, key_client):
    # Submitting needs predict; polling the job and downloading its results need read.
    return key_client(tenant, scopes=("read", "predict"))


def stored_batch_files(tenant, project) -> list[str]:
    prefix = f"tenants/{tenant.pk}/projects/{project.pk}/batches"
    if not default_storage.exists(prefix):
        return []
    directories, _ = default_storage.listdir(prefix)
    return directories


def test_a_csv_is_queued_then_every_row_comes_back_with_its_prediction_or_why_not(tenant, project, client, deploy):
    version = deploy(project, "full")

    response = upload(client, project, CSV, text_column="message")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["text_column"], body["model_version"]) == ("queued", "message", str(version.pk))
    job = run(body["id"], tenant)

    assert (job.status, job.rows_done, job.rows_predicted, job.rows_failed) == ("succeeded", 6, 4, 2)
    rows = results(client, body["id"])
    assert list(rows[0]) == [
        "id",
        "message",
        "channel",
        "predicted_label",
        "score",
        "needs_human",
        "top_labels",
        "error",
    ]
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert (rows[0]["predicted_label"], rows[1]["predicted_label"], rows[5]["predicted_label"]) == (
        "food",
        "music",
        "food",
    )
    assert rows[0]["top_labels"].startswith("food:") and rows[0]["error"] == ""
    assert (rows[2]["predicted_label"], rows[2]["error"]) == ("", "the text is empty")
    assert rows[4]["error"] == "has 4 fields where the header has 3"


def test_formula_cells_are_escaped_in_the_results(tenant, project, client, deploy):
    deploy(project, "full")
    job_id = upload(client, project, CSV, text_column="message").json()["id"]
    run(job_id, tenant)

    rows = results(client, job_id)

    assert rows[3]["message"] == '\'=HYPERLINK("http://evil")'
    assert rows[3]["predicted_label"] != ""


def test_the_text_column_is_guessed_from_its_name(tenant, project, client, deploy):
    deploy(project, "full")

    body = upload(client, project, "text,ticket\npizza soup,1\nguitar song,2\n").json()

    assert body["text_column"] == "text"


def test_json_lines_input_is_predicted(tenant, project, client, deploy):
    deploy(project, "full")
    lines = "\n".join(json.dumps({"text": t, "ref": i}) for i, t in enumerate(["pizza soup", "drum song"])) + "\n"

    job_id = upload(client, project, lines, name="texts.jsonl").json()["id"]
    run(job_id, tenant)

    rows = results(client, job_id)
    assert [(r["ref"], r["predicted_label"]) for r in rows] == [("0", "food"), ("1", "music")]


def test_a_multi_label_project_lists_the_labels_over_their_thresholds(tenant, key_client, deploy):
    project = ProjectFactory(tenant=tenant, name="Interests", use_case="recommendation", multi_label=True)
    deploy(project, "multi")
    client = key_client(tenant)

    response = upload(client, project, "text\npizza bread cheese soup\n")
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]
    run(job_id, tenant)

    row = results(client, job_id)[0]
    assert "predicted_labels" in row and "predicted_label" not in row
    assert "food" in row["predicted_labels"].split("|")


def test_a_dataset_of_the_project_can_be_predicted(tenant, project, client, key_client, deploy):
    deploy(project, "full")
    data = "text,label\n" + "".join(f"pizza soup {i},food\nguitar song {i},music\n" for i in range(5))
    stream = _named(data.encode(), "train.csv")
    dataset = key_client(tenant).post(f"/api/v1/projects/{project.pk}/datasets/", {"file": stream}).json()

    response = client.post(
        f"/api/v1/projects/{project.pk}/batch-predictions/", {"dataset_id": dataset["id"]}, format="json"
    )
    job = run(response.json()["id"], tenant)

    assert response.status_code == 202
    assert (job.status, job.rows_predicted) == ("succeeded", 10)
    rows = results(client, job.pk)
    assert [r["label"] for r in rows] == ["food", "music"] * 5  # the dataset's own columns come back too
    assert all(r["predicted_label"] in NAMES and r["error"] == "" for r in rows)


# --- billing -------------------------------------------------------------------------------------------


def test_the_predicted_rows_are_billed_once_even_if_the_job_runs_again(tenant, project, client, deploy):
    deploy(project, "full")
    job_id = upload(client, project, CSV, text_column="message").json()["id"]

    run(job_id, tenant)
    again = run(job_id, tenant)

    assert again is None
    records = list(UsageRecord.objects.for_tenant(tenant).values_list("kind", "quantity"))
    assert records == [("prediction", 4)]


# --- refusals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fields", "status", "code"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, {}, 400, "not_text"),
        (b"", {}, 400, "empty_file"),
        ("a,b\n1,2\n", {}, 400, "missing_column"),
        ("text,b\n1,2\n", {"text_column": "message"}, 400, "missing_column"),
    ],
    ids=["binary", "empty", "no-text-column", "named-column-missing"],
)
def test_an_unusable_file_is_refused_and_nothing_is_stored(
    tenant, project, client, deploy, content, fields, status, code
):
    deploy(project, "full")

    response = upload(client, project, content, **fields)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not BatchPrediction.objects.for_tenant(tenant).exists()
    assert stored_batch_files(tenant, project) == []


def test_without_a_deployed_model_a_batch_answers_409(tenant, project, client):
    response = upload(client, project, CSV, text_column="message")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_model_deployed"
    assert stored_batch_files(tenant, project) == []


def test_a_file_and_a_dataset_together_or_neither_is_400(project, client, deploy):
    deploy(project, "full")
    url = f"/api/v1/projects/{project.pk}/batch-predictions/"

    neither = client.post(url, {}, format="json")
    both = client.post(url, {"file": _named(b"text\nx\n", "a.csv"), "dataset_id": str(project.pk)})

    assert neither.status_code == both.status_code == 400
    assert "either a file or a dataset_id" in neither.json()["error"]["message"]


def test_results_before_the_job_is_done_answer_409(project, client, deploy):
    deploy(project, "full")
    job_id = upload(client, project, CSV, text_column="message").json()["id"]

    response = client.get(f"/api/v1/batch-predictions/{job_id}/results/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_ready"


def test_a_job_whose_input_vanished_fails_saying_so(tenant, project, client, deploy):
    deploy(project, "full")
    job_id = upload(client, project, CSV, text_column="message").json()["id"]
    default_storage.delete(BatchPrediction.objects.for_tenant(tenant).get(pk=job_id).input_file)

    job = run(job_id, tenant)

    assert (job.status, job.error_code) == ("failed", "input_missing")
    assert client.get(f"/api/v1/batch-predictions/{job_id}/").json()["error_message"].startswith("The input file")


# --- who may call it -------------------------------------------------------------------------------------


def test_anonymous_gets_401(api_client, project):
    assert api_client.get(f"/api/v1/projects/{project.pk}/batch-predictions/").status_code == 401


def test_another_tenant_sees_neither_the_project_nor_the_job(tenant, other_tenant, project, client, key_client, deploy):
    deploy(project, "full")
    job_id = upload(client, project, CSV, text_column="message").json()["id"]
    theirs = key_client(other_tenant)

    assert upload(theirs, project, CSV, text_column="message").status_code == 404
    assert theirs.get(f"/api/v1/batch-predictions/{job_id}/").status_code == 404
    assert theirs.get(f"/api/v1/batch-predictions/{job_id}/results/").status_code == 404


def test_a_key_without_the_predict_scope_may_list_but_not_submit(tenant, project, key_client, deploy):
    deploy(project, "full")
    manager = key_client(tenant, scopes=("manage",))

    assert upload(manager, project, CSV, text_column="message").status_code == 403
    assert manager.get(f"/api/v1/projects/{project.pk}/batch-predictions/").status_code == 200
