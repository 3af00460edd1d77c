from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from rest_framework import serializers

# What DRF's CharField refuses in a string: NUL, and lone surrogates (JSON's \ud800 escapes).
_REFUSED_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
TOP_K_MAX = 100


class PredictRequestSerializer(serializers.Serializer[Any]):
    texts = serializers.ListField(
        child=serializers.CharField(allow_blank=False, trim_whitespace=False),
        allow_empty=False,
        min_length=1,
        help_text="1 to PREDICT_MAX_TEXTS (256) texts.",
    )
    top_k = serializers.IntegerField(
        required=False, min_value=1, max_value=TOP_K_MAX, help_text="Labels per prediction (5)."
    )

    def validate_texts(self, value: list[str]) -> list[str]:
        limit = settings.PREDICT_MAX_TEXTS
        if len(value) > limit:
            raise serializers.ValidationError(f"At most {limit} texts per request, not {len(value)}.")
        return value


def predict_request(data: Any) -> tuple[list[str], int | None]:
    """The texts and ``top_k`` of a predict request body, as ``PredictRequestSerializer`` validates
    them, without building its fields: on the hot path that cost more than a 1-text request's usage
    write. A body this does not plainly accept (anything to coerce or refuse) goes through the
    serializer, so that the answer, and every error, is the serializer's."""
    if type(data) is dict:
        texts, top_k = data.get("texts"), data.get("top_k")
        if (
            type(texts) is list
            and 0 < len(texts) <= settings.PREDICT_MAX_TEXTS
            and all(type(text) is str and text and not _REFUSED_CHARACTERS.search(text) for text in texts)
            and (("top_k" not in data) or (type(top_k) is int and 1 <= top_k <= TOP_K_MAX))
        ):
            return texts, top_k
    serializer = PredictRequestSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["texts"], serializer.validated_data.get("top_k")


class LabelScoreSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    score = serializers.FloatField()
    above_threshold = serializers.BooleanField()


class PredictionSerializer(serializers.Serializer[Any]):
    label = serializers.CharField(  # type: ignore[assignment]  # a field named like Field.label
        required=False, help_text="Single-label projects: the best label."
    )
    score = serializers.FloatField(required=False)
    needs_human = serializers.BooleanField(required=False, help_text="Single-label: score under the threshold.")
    labels = LabelScoreSerializer(many=True)


class ServedVersionSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    version = serializers.IntegerField()
    precision = serializers.CharField()


class PredictResponseSerializer(serializers.Serializer[Any]):
    model_version = ServedVersionSerializer()
    predictions = PredictionSerializer(many=True)


class BatchPredictionSerializer(serializers.ModelSerializer[Any]):
    results_url = serializers.SerializerMethodField()

    class Meta:
        from inference.models import BatchPrediction

        model = BatchPrediction
        fields = [
            "id",
            "project",
            "model_version",
            "dataset",
            "status",
            "name",
            "size_bytes",
            "format",
            "text_column",
            "progress",
            "rows_done",
            "rows_predicted",
            "rows_failed",
            "error_code",
            "error_message",
            "results_url",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_results_url(self, job: Any) -> str | None:
        if job.status != "succeeded":
            return None
        return f"/api/v1/batch-predictions/{job.pk}/results/"


class BatchCreateSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        required=False, allow_empty_file=True, help_text="CSV or TSV with a header row, or JSON Lines."
    )
    dataset_id = serializers.UUIDField(required=False, help_text="Instead of a file: one of the project's datasets.")
    text_column = serializers.CharField(required=False, allow_blank=True, max_length=200)
    format = serializers.ChoiceField(choices=["auto", "csv", "tsv", "jsonl"], default="auto")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("file")) == bool(attrs.get("dataset_id")):
            raise serializers.ValidationError("Send either a file or a dataset_id.")
        return attrs
