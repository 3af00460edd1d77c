from __future__ import annotations

from typing import Any

from rest_framework import serializers

from training import selectors
from training.models import Method, ModelVersion, TrainingRun


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


class TrainingRunCreateSerializer(serializers.Serializer[Any]):
    dataset_id = serializers.UUIDField()
    base_model = serializers.CharField(required=False, max_length=100)
    method = serializers.ChoiceField(choices=Method.choices, default=Method.FULL)
    epochs = serializers.IntegerField(required=False)
    learning_rate = serializers.FloatField(required=False)
    batch_size = serializers.IntegerField(required=False)
    max_length = serializers.IntegerField(required=False)
    seed = serializers.IntegerField(required=False)


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
