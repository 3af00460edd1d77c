"""A model version as one zip archive a customer runs with ``transformers`` alone.

The archive holds one folder, ``<project>-v<n>/``, that ``AutoModelForSequenceClassification`` and
``AutoTokenizer`` load with ``from_pretrained``: the weights (safetensors), the tokenizer, ``config.json``
with the label map (``id2label``/``label2id``), ``labels.json`` (labels, thresholds, calibration
temperature) and ``README.md``, the model card (data, settings, metrics, how to predict).

A full fine-tune's stored files go in as they are. A LoRA/AdaLoRA version is stored as an adapter over a
shared base encoder; here it is merged into a copy of its base, so the archive needs no peft and no base
model. What the artifact keeps for our own serving only (the parity sample of validation texts, the raw
report, the adapter files) stays out.

Built per request into a temporary file the response streams and then deletes: the model card follows the
version's metrics as they are now, and nothing is left to clean up.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.text import slugify

from tenants.errors import Conflict, NotFound
from tenants.models import Tenant
from training.models import ModelVersion

CONTENT_TYPE = "application/zip"
MANIFEST = "tunebase.json"
# Stored beside the model for our serving only: never part of the download.
SERVING_ONLY = {
    MANIFEST,
    "report.json",
    "parity_texts.json",
    "head.safetensors",
    "lora_factors.safetensors",
    "adapter_model.safetensors",
    "adapter_config.json",
    "README.md",
}
HYPERPARAMETERS = (
    "method",
    "epochs",
    "learning_rate",
    "batch_size",
    "max_length",
    "seed",
    "warmup_ratio",
    "weight_decay",
    "class_weighting",
    "early_stopping_patience",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
)


@dataclass(frozen=True)
class ModelArchive:
    file: IO[bytes]
    filename: str
    content_type: str = CONTENT_TYPE


def model_download(*, tenant: Tenant, version_id: UUID) -> ModelArchive:
    """The version's archive in a temporary file, rewound; closing it (a ``FileResponse`` does) deletes it."""
    version = (
        ModelVersion.objects.for_tenant(tenant)
        .select_related("project", "training_run__dataset")
        .filter(pk=version_id)
        .first()
    )
    if version is None:
        raise NotFound("No such model version.")
    folder = f"{slugify(version.project.name) or 'model'}-v{version.version}"
    destination = tempfile.TemporaryFile(suffix=".zip")  # noqa: SIM115  (handed on to the response)
    try:
        with tempfile.TemporaryDirectory(prefix="tunebase-download-") as work:
            stored = Path(work) / "stored"
            _copy_from_storage(version.artifact_path, stored)
            manifest = json.loads((stored / MANIFEST).read_text())
            model_dir = stored if version.method == "full" else _merged(stored, version, Path(work) / "merged")
            extras = {
                "labels.json": json.dumps(_labels(version, manifest), indent=1),
                "README.md": model_card(version, manifest, folder),
            }
            _write_zip(destination, folder, model_dir, extras)
        destination.seek(0)
    except BaseException:
        destination.close()
        raise
    return ModelArchive(file=destination, filename=f"{folder}.zip")


def _storage_files(prefix: str) -> list[str]:
    directories, files = default_storage.listdir(prefix)
    found = [f"{prefix}/{name}" for name in files]
    for directory in directories:
        found += _storage_files(f"{prefix}/{directory}")
    return found


def _copy_from_storage(prefix: str, target: Path) -> None:
    try:
        names = _storage_files(prefix)
    except FileNotFoundError:
        names = []
    if f"{prefix}/{MANIFEST}" not in names:
        raise Conflict("This version's model files are missing from storage.", code="artifact_missing")
    for name in names:
        destination = target / name.removeprefix(prefix + "/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        with default_storage.open(name, "rb") as source, destination.open("wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)


def _merged(stored: Path, version: ModelVersion, target: Path) -> Path:
    """An adapter version merged into a copy of its base encoder, saved as a plain transformers model."""
    from transformers import AutoTokenizer

    from training.engine.base_models import UnknownBaseModel, resolve
    from training.engine.modeling import load_artifact_model

    try:
        base = resolve(version.base_model, settings.TUNEBASE_BASE_MODELS).path
    except UnknownBaseModel as error:
        raise Conflict(
            f"v{version.version} is an adapter over {version.base_model}, which this server no longer has: {error}",
            code="base_model_missing",
        ) from error
    model = load_artifact_model(stored, base).merge_and_unload()  # type: ignore[operator]
    model.save_pretrained(str(target), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(stored)).save_pretrained(str(target))
    return target


def _write_zip(destination: IO[bytes], folder: str, model_dir: Path, extras: dict[str, str]) -> None:
    with zipfile.ZipFile(destination, "w") as archive:
        for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
            relative = path.relative_to(model_dir).as_posix()
            if relative in SERVING_ONLY:
                continue
            # Weights do not compress; text does.
            compress = zipfile.ZIP_STORED if path.suffix == ".safetensors" else zipfile.ZIP_DEFLATED
            archive.write(path, f"{folder}/{relative}", compress_type=compress)
        for name, text in extras.items():
            archive.writestr(f"{folder}/{name}", text, compress_type=zipfile.ZIP_DEFLATED)


def _temperature(manifest: dict[str, Any]) -> float | None:
    """What serving divides the logits by (the manifest's, fitted at training); None where it is 1."""
    value = manifest.get("temperature")
    if not isinstance(value, int | float) or float(value) == 1.0:
        return None
    return float(value)


def _labels(version: ModelVersion, manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "labels": list(version.label_names),
        "multi_label": version.multi_label,
        "thresholds": version.thresholds,
        "temperature": _temperature(manifest),
    }


def _number(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def model_card(version: ModelVersion, manifest: dict[str, Any], folder: str) -> str:
    """The archive's README.md: what the model is, what it learned from, how well it does, how to run it."""
    task = "multi-label" if version.multi_label else "single-label"
    lines = [
        "---",
        "library_name: transformers",
        "pipeline_tag: text-classification",
        "tags: [tunebase, text-classification]",
        "---",
        "",
        f"# {version.project.name} · v{version.version}",
        "",
        f"A {task} text classifier fine-tuned by Tunebase from `{version.base_model}` "
        f"({version.get_method_display()}), {len(version.label_names)} labels.",
        f"Trained {version.created_at:%Y-%m-%d %H:%M} UTC." if version.created_at else "",
        *_data_section(version),
        *_settings_section(manifest),
        *_metrics_section(version.metrics or {}),
        *_usage_section(version, manifest, folder),
    ]
    return "\n".join(lines)


def _data_section(version: ModelVersion) -> list[str]:
    run = version.training_run
    dataset = run.dataset if run is not None else None
    lines = ["", "## Data", ""]
    if dataset is None:
        return [*lines, "- The dataset this version was trained on has since been deleted."]
    lines += [
        f"- Dataset: `{dataset.name}` (version {dataset.version}), {dataset.rows_usable} usable rows "
        f"of {dataset.rows_read} read, {dataset.label_count} labels.",
        f"- Columns: text `{dataset.text_column}`, label `{dataset.label_column}`.",
    ]
    counts = (dataset.report or {}).get("labels") or []
    if counts:
        lines += ["", "| label | examples |", "|---|---:|"]
        lines += [f"| {row.get('name')} | {row.get('count')} |" for row in counts]
    held_out = (version.metrics or {}).get("n_examples")
    if held_out:
        lines += ["", f"The metrics below are measured on {held_out} held-out rows (a stratified split)."]
    return lines


def _settings_section(manifest: dict[str, Any]) -> list[str]:
    config = manifest.get("config") or {}
    lines = ["", "## Settings", "", "| setting | value |", "|---|---|"]
    return lines + [f"| {name} | {_number(config[name])} |" for name in HYPERPARAMETERS if name in config]


def _metrics_section(metrics: dict[str, Any]) -> list[str]:
    lines = ["", "## Metrics", "", "| metric | value |", "|---|---:|"]
    lines += [
        f"| {key} | {metrics[key]:.3f} |"
        for key in ("accuracy", "macro_f1", "micro_f1", "weighted_f1")
        if isinstance(metrics.get(key), int | float)
    ]
    per_class = metrics.get("per_class") or {}
    if per_class:
        lines += ["", "| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        lines += [
            f"| {label} | {row.get('precision', 0):.3f} | {row.get('recall', 0):.3f} "
            f"| {row.get('f1-score', 0):.3f} | {row.get('support', 0)} |"
            for label, row in per_class.items()
        ]
    return lines


def _usage_section(version: ModelVersion, manifest: dict[str, Any], folder: str) -> list[str]:
    temperature = _temperature(manifest)
    max_length = int(manifest.get("max_length") or 128)
    lines = ["", "## Use it", "", "```python"]
    lines += ["import json", ""] if version.multi_label else []
    lines += [
        "import torch",
        "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
        "",
        f'tokenizer = AutoTokenizer.from_pretrained("{folder}")',
        f'model = AutoModelForSequenceClassification.from_pretrained("{folder}").eval()',
        f'inputs = tokenizer(["your text here"], padding=True, truncation=True, max_length={max_length}, '
        'return_tensors="pt")',
        "with torch.no_grad():",
        "    logits = model(**inputs).logits",
    ]
    if temperature is not None:
        lines.append(f"logits = logits / {temperature:.4f}  # the calibration temperature (see below)")
    if version.multi_label:
        lines += [
            "scores = torch.sigmoid(logits)[0].tolist()",
            f'thresholds = json.load(open("{folder}/labels.json"))["thresholds"]',
            "names = [model.config.id2label[i] for i in range(len(scores))]",
            "labels = [name for name, score in zip(names, scores) if score >= thresholds[name]]",
            "```",
            "",
            "A label applies when its score reaches its own threshold, tuned for F1 on the held-out rows "
            "(`labels.json`, `thresholds`).",
        ]
    else:
        lines += [
            "scores = torch.softmax(logits, dim=-1)[0]",
            "label = model.config.id2label[int(scores.argmax())]",
            "```",
        ]
    if temperature is not None:
        activation = "sigmoid" if version.multi_label else "softmax"
        lines += [
            "",
            "## Calibration",
            "",
            f"The scores are calibrated by temperature scaling with T = {temperature:.4f}: divide the logits "
            f"by T before the {activation}. The ranking of the labels is unchanged; the scores then match how "
            "often the model is right. `labels.json` holds the same value (`temperature`).",
        ]
    return [*lines, ""]
