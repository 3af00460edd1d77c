from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from tenants.errors import InvalidInput
from training import selectors
from training.models import Method, ModelVersion, TrainingRun
from training.services.run_settings import SETTING_NAMES, SETTINGS, clean_run_settings


class TrainingRunSerializer(serializers.ModelSerializer[TrainingRun]):
    queue_position = serializers.SerializerMethodField(help_text="Runs of all tenants waiting ahead (when queued).")
    model_version = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "project",
            "dataset",
            "status",
            "base_model",
            "method",
            "hyperparameters",
            "progress",
            "history",
            "metrics",
            "error",
            "cancel_requested",
            "attempts",
            "queue_position",
            "model_version",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_queue_position(self, run: TrainingRun) -> int | None:
        # A list passes every run's position, read at once (``selectors.queue_positions``); one run reads its own.
        positions = self.context.get("queue_positions")
        if positions is None:
            return selectors.queue_position(run=run)
        return positions.get(run.pk)

    def get_model_version(self, run: TrainingRun) -> str | None:
        version = getattr(run, "model_version", None)
        return str(version.pk) if version is not None else None

    def get_error(self, run: TrainingRun) -> dict[str, str] | None:
        if not run.error_code or run.error_code == "cancelled":
            return None
        return {"code": run.error_code, "message": run.error_message}


def _setting_field(name: str) -> serializers.Field[Any, Any, Any, Any]:
    setting = next(s for s in SETTINGS if s.name == name)
    # The bounds document the schema; the check itself is ``clean_run_settings``, the dashboard's too.
    help_text = f"{setting.rule}."
    if setting.kind is int:
        low, high = int(setting.low), int(setting.high)
        return serializers.IntegerField(required=False, min_value=low, max_value=high, help_text=help_text)
    return serializers.FloatField(required=False, min_value=setting.low, max_value=setting.high, help_text=help_text)


class TrainingRunCreateSerializer(serializers.Serializer[Any]):
    """A run to start. Every wrong field is reported at once: the shape checks here, the settings' checks
    by ``training.services.clean_run_settings`` (the dashboard's form uses the same), merged into one 400."""

    dataset_id = serializers.UUIDField()
    base_model = serializers.CharField(required=False, max_length=100)
    method = serializers.ChoiceField(choices=Method.choices, default=Method.FULL)
    epochs = _setting_field("epochs")
    learning_rate = _setting_field("learning_rate")
    batch_size = _setting_field("batch_size")
    max_length = _setting_field("max_length")
    seed = _setting_field("seed")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # DRF's "expected a dictionary"
        given = {name: data[name] for name in SETTING_NAMES if name in data}
        errors: dict[str, Any] = {}
        try:
            values = super().to_internal_value({k: v for k, v in data.items() if k not in SETTING_NAMES})
        except serializers.ValidationError as error:
            errors, values = dict(error.detail), {}  # type: ignore[arg-type]
        try:
            values.update(clean_run_settings(given))
        except InvalidInput as error:
            for detail in error.details or []:
                errors[detail["field"]] = [serializers.ErrorDetail(detail["message"], code=detail["code"])]
        if errors:
            raise serializers.ValidationError(errors)
        return values


class ModelVersionSerializer(serializers.ModelSerializer[ModelVersion]):
    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "project",
            "version",
            "training_run",
            "base_model",
            "method",
            "multi_label",
            "label_names",
            "thresholds",
            "metrics",
            "size_bytes",
            "is_active",
            "deployed_at",
            "created_at",
        ]
        read_only_fields = fields
