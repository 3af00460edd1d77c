"""Serving end to end on real worker processes: a model trained by a worker, deployed, predicted over the
API, and a batch job that a worker predicts, with progress, to a results CSV."""

from __future__ import annotations

import csv
import io

import pytest

from billing.models import UsageRecord
from tests.factories import get, named_csv, start_run, wait_for
from training.models import ModelVersion

pytestmark = pytest.mark.worker


def test_a_model_trained_on_a_worker_serves_predictions_and_a_batch_job(
    transactional_db, tenant, key_client, celery_worker_process
):
    client = key_client(tenant)
    run = start_run(client, tenant, rows=200, epochs=3, learning_rate=3e-3, batch_size=16)
    done = wait_for(lambda: (r := get(client, run))["status"] in ("succeeded", "failed") and r, 180, "the run")
    assert done["status"] == "succeeded", done["error"]
    version = ModelVersion.objects.for_tenant(tenant).get(pk=done["model_version"])
    assert version.parity["texts"] > 0 and version.serving_precision in ("bf16", "fp32")
    assert version.serving_precision == ("bf16" if version.parity["passed"] else "fp32")
    assert version.is_active  # the project's first model serves at once
    project = version.project_id

    answer = client.post(
        f"/api/v1/projects/{project}/predict/", {"texts": ["card visa pin plastic", "refund money back"]}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert [p["label"] for p in answer.json()["predictions"]] == ["card", "refund"]

    texts = "".join(f"{i},card visa pin {i}\n" if i % 2 else f"{i},refund money return {i}\n" for i in range(300))
    job = client.post(
        f"/api/v1/projects/{project}/batch-predictions/", {"file": named_csv(f"n,text\n{texts}".encode(), "in.csv")}
    ).json()
    finished = wait_for(
        lambda: (
            (j := client.get(f"/api/v1/batch-predictions/{job['id']}/").json())["status"] in ("succeeded", "failed")
            and j
        ),
        120,
        "the batch job",
    )
    assert finished["status"] == "succeeded", finished["error_message"]
    assert (finished["rows_done"], finished["rows_predicted"], finished["progress"]) == (300, 300, 1.0)
    response = client.get(finished["results_url"])
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["n"] for r in rows] == [str(i) for i in range(300)]
    right = sum(r["predicted_label"] == ("card" if int(r["n"]) % 2 else "refund") for r in rows)
    assert right >= 270
    billed = sorted(UsageRecord.objects.for_tenant(tenant).filter(kind="prediction").values_list("quantity", flat=True))
    assert billed == [2, 300]
    assert UsageRecord.objects.for_tenant(tenant).filter(kind="training_seconds", source="training").count() == 1
