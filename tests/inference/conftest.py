"""Trained tiny models for the serving tests, and a helper that deploys one to a project.

Each artifact is trained once per session on a separable toy task (a second or two each), so
predictions are real model output, learned well enough that the right label wins.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File
from django.core.files.storage import default_storage

from projects.models import Project
from tenants.storage import tenant_file_path
from tests.factories import config, make_tiny_bert, multi_labelled, separable
from training import engine
from training.models import ModelVersion


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("serving-tiny-bert"))


@pytest.fixture(scope="session")
def trained(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``trained(kind)``: the artifact directory of a tiny model; kinds ``full``, ``lora``, ``adalora``,
    ``multi`` (multi-label, full) and ``lora2`` (a second LoRA version, other seed)."""
    made: dict[str, Path] = {}

    def train(kind: str) -> Path:
        if kind not in made:
            if kind == "multi":
                texts, labels = multi_labelled(240)
                # Trained to confident scores: a weaker model leaves validation scores a hair from its
                # thresholds, where any rounding (bf16 emulated on a CPU without its kernels) flips one.
                settings = config(epochs=8, learning_rate=1e-2, multi_label=True)
            else:
                texts, labels = separable(240, seed=1 if kind == "lora2" else 0)
                method = "lora" if kind == "lora2" else kind
                settings = config(method=method, epochs=4, learning_rate=1e-2 if method != "full" else 3e-3)
            result = engine.fine_tune(texts, labels, settings, tiny_bert, tmp_path_factory.mktemp(kind), resume=False)
            made[kind] = result.artifact_dir
        return made[kind]

    return train


def store_version(
    project: Project, artifact_dir: Path, *, base_model: str, active: bool = True, **fields: Any
) -> ModelVersion:
    """Copy the artifact into the tenant's storage, as a finished run does, and record the version."""
    import json

    from django.db.models import Max

    manifest = json.loads((artifact_dir / "tunebase.json").read_text())
    latest = ModelVersion.all_tenants.filter(project=project).aggregate(v=Max("version"))["v"] or 0
    prefix = tenant_file_path(project.tenant_id, "projects", str(project.pk), "models", f"v{latest + 1}")
    for path in sorted(p for p in artifact_dir.rglob("*") if p.is_file()):
        name = f"{prefix}/{path.relative_to(artifact_dir).as_posix()}"
        with path.open("rb") as source:
            default_storage.save(name, File(source))
    if active:
        ModelVersion.all_tenants.filter(project=project, is_active=True).update(is_active=False)
    return ModelVersion.all_tenants.create(
        tenant=project.tenant,
        project=project,
        version=latest + 1,
        base_model=base_model,
        method=manifest["method"],
        multi_label=manifest["multi_label"],
        artifact_path=prefix,
        label_names=manifest["label_names"],
        thresholds=manifest["thresholds"],
        is_active=active,
        **fields,
    )


@pytest.fixture
def deploy(trained: Callable[[str], Path], tiny_bert: Path, settings: Any) -> Callable[..., ModelVersion]:
    """``deploy(project, kind="full", active=True)``: a stored, deployed version of a tiny model."""
    settings.TUNEBASE_BASE_MODELS = {**settings.TUNEBASE_BASE_MODELS, "serving-tiny": str(tiny_bert)}

    def make(project: Project, kind: str = "full", active: bool = True, **fields: Any) -> ModelVersion:
        return store_version(project, trained(kind), base_model="serving-tiny", active=active, **fields)

    return make
