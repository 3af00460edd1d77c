"""A model version as one archive: loadable with ``transformers`` alone, answering as our serving does, with
its model card; from the dashboard and the API, never across tenants."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from django.core.files.storage import default_storage
from django.urls import reverse
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from inference.loading import classifier_for
from projects.models import Dataset, DatasetStatus
from tenants.models import Role
from tests.factories import ProjectFactory
from tests.inference.conftest import deploy, tiny_bert, trained  # noqa: F401  (fixtures)
from training.models import ModelVersion, RunStatus, TrainingRun

TEXTS = ["pizza bread soup", "guitar piano melody", "football goal match team", "cheese rice", "drum song violin"]


def url(name, tenant, project, **kwargs):
    return reverse(f"dashboard:{name}", kwargs={"tenant_slug": tenant.slug, "project_id": project.pk, **kwargs})


@pytest.fixture(autouse=True)
def _own_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.INFERENCE_ARTIFACT_DIR = tmp_path / "models"


@pytest.fixture
def stored(deploy, trained, tenant, project):  # noqa: F811
    """``stored(kind)``: a deployed version of a tiny model with its real report, made by a run on a dataset."""

    def make(kind: str = "full", **fields) -> ModelVersion:
        dataset = Dataset.all_tenants.create(
            tenant=tenant,
            project=project,
            name="intents.csv",
            status=DatasetStatus.READY,
            file="x.csv",
            size_bytes=100,
            sha256="0" * 64,
            text_column="text",
            label_column="label",
            rows_read=240,
            rows_usable=240,
            label_count=3,
            report={"labels": [{"name": "food", "count": 80}, {"name": "music", "count": 80}]},
        )
        run = TrainingRun.all_tenants.create(
            tenant=tenant, project=project, dataset=dataset, base_model="serving-tiny", status=RunStatus.SUCCEEDED
        )
        metrics = json.loads((trained(kind) / "report.json").read_text())
        return deploy(project, kind, training_run=run, metrics={**metrics, **fields.pop("metrics", {})}, **fields)

    return make


def extract(content: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        archive.extractall(into)
    (folder,) = {name.split("/")[0] for name in names}
    return into / folder


def download(client, tenant, project, version) -> bytes:
    response = client.get(url("model-download", tenant, project, version_id=version.pk))
    assert response.status_code == 200, response
    assert response["Content-Type"] == "application/zip"
    assert f'filename="intents-v{version.version}.zip"' in response["Content-Disposition"]
    return b"".join(response.streaming_content)


def served_labels(version: ModelVersion, texts: list[str]) -> list[list[str]]:
    classifier = classifier_for(version)
    scores = classifier.predict_proba(texts)
    if version.multi_label:
        thresholds = np.array([version.thresholds[name] for name in version.label_names])
        return [[version.label_names[j] for j in np.flatnonzero(row >= thresholds)] for row in scores]
    return [[version.label_names[int(row.argmax())]] for row in scores]


def transformers_labels(folder: Path, texts: list[str]) -> list[list[str]]:
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    labels = json.loads((folder / "labels.json").read_text())
    with torch.no_grad():
        logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    if labels["multi_label"]:
        scores = torch.sigmoid(logits).numpy()
        return [
            [
                model.config.id2label[j]
                for j in range(len(row))
                if row[j] >= labels["thresholds"][model.config.id2label[j]]
            ]
            for row in scores
        ]
    return [[model.config.id2label[int(i)]] for i in logits.argmax(-1)]


@pytest.mark.parametrize("kind", ["full", "lora", "multi"])
def test_the_archive_loads_with_transformers_alone_and_answers_as_we_serve(
    client, settings, tenant, project, member_of, stored, tmp_path, kind
):
    version = stored(kind)
    client.force_login(member_of(tenant, Role.MEMBER).user)

    folder = extract(download(client, tenant, project, version), tmp_path / "out")

    files = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", "labels.json"} <= files
    # nothing of our serving's own: no adapter to apply (LoRA comes merged), no validation texts
    assert not files & {"adapter_config.json", "lora_factors.safetensors", "parity_texts.json", "tunebase.json"}
    # nothing points back into this server (a base model's or a work folder's path)
    for path in folder.glob("*.json"):
        assert str(settings.TUNEBASE_BASE_MODELS["serving-tiny"]) not in path.read_text(), path.name
        assert str(settings.MEDIA_ROOT) not in path.read_text(), path.name
    config = json.loads((folder / "config.json").read_text())
    assert config["id2label"] == {str(i): name for i, name in enumerate(version.label_names)}
    assert config["label2id"] == {name: i for i, name in enumerate(version.label_names)}
    assert transformers_labels(folder, TEXTS) == served_labels(version, TEXTS)


def test_the_model_card_names_the_data_settings_and_metrics(client, tenant, project, member_of, stored, tmp_path):
    version = stored("full")
    client.force_login(member_of(tenant, Role.VIEWER).user)

    card = (extract(download(client, tenant, project, version), tmp_path / "out") / "README.md").read_text()

    assert "# Intents · v1" in card and "`serving-tiny`" in card
    assert "Dataset: `intents.csv` (version 1), 240 usable rows of 240 read, 3 labels." in card
    assert "| food | 80 |" in card
    assert "| epochs | 4 |" in card and "| method | full |" in card
    assert f"| macro_f1 | {version.metrics['macro_f1']:.3f} |" in card
    assert 'AutoModelForSequenceClassification.from_pretrained("intents-v1")' in card


def test_a_calibrated_version_card_says_how_to_apply_the_temperature(
    client, tenant, project, member_of, stored, tmp_path
):
    version = stored("full")
    manifest_name = f"{version.artifact_path}/tunebase.json"
    with default_storage.open(manifest_name) as f:
        manifest = json.loads(f.read())
    default_storage.delete(manifest_name)
    default_storage.save(manifest_name, io.BytesIO(json.dumps({**manifest, "temperature": 1.7321}).encode()))
    client.force_login(member_of(tenant, Role.VIEWER).user)

    folder = extract(download(client, tenant, project, version), tmp_path / "out")

    card = (folder / "README.md").read_text()
    assert "logits = logits / 1.7321" in card
    assert "T = 1.7321: divide the logits by T before the softmax" in card
    assert json.loads((folder / "labels.json").read_text())["temperature"] == pytest.approx(1.7321)


def test_the_api_downloads_with_the_read_scope(key_client, tenant, project, stored, tmp_path):
    version = stored("full")

    response = key_client(tenant, scopes=["read"]).get(f"/api/v1/models/{version.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    folder = extract(b"".join(response.streaming_content), tmp_path / "out")
    assert transformers_labels(folder, TEXTS) == served_labels(version, TEXTS)


def test_the_api_refuses_a_key_without_the_read_scope(key_client, tenant, project, stored):
    version = stored("full")

    response = key_client(tenant, scopes=["predict"]).get(f"/api/v1/models/{version.pk}/download/")

    assert response.status_code == 403
    assert "'read' scope" in response.json()["error"]["message"]


def test_another_tenant_gets_404_from_the_api_and_the_dashboard(
    client, key_client, tenant, other_tenant, project, member_of, stored
):
    version = stored("full")

    assert key_client(other_tenant, scopes=["read"]).get(f"/api/v1/models/{version.pk}/download/").status_code == 404
    client.force_login(member_of(other_tenant, Role.OWNER).user)
    assert client.get(url("model-download", tenant, project, version_id=version.pk)).status_code == 404


def test_a_version_is_not_downloaded_through_another_project(client, tenant, project, member_of, stored):
    version = stored("full")
    elsewhere = ProjectFactory(tenant=tenant, name="Elsewhere")
    client.force_login(member_of(tenant, Role.VIEWER).user)

    assert client.get(url("model-download", tenant, elsewhere, version_id=version.pk)).status_code == 404


def test_anonymous_is_sent_to_log_in(client, tenant, project, stored):
    version = stored("full")

    assert "/accounts/login/" in client.get(url("model-download", tenant, project, version_id=version.pk))["Location"]


def test_missing_files_are_a_clear_conflict(key_client, tenant, project, stored):
    version = stored("full")
    default_storage.delete(f"{version.artifact_path}/tunebase.json")

    response = key_client(tenant, scopes=["read"]).get(f"/api/v1/models/{version.pk}/download/")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "artifact_missing",
        "message": "This version's model files are missing from storage.",
        "details": [],
    }
