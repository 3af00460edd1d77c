from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers


class PredictRequestSerializer(serializers.Serializer[Any]):
    texts = serializers.ListField(
        child=serializers.CharField(allow_blank=False, trim_whitespace=False),
        allow_empty=False,
        help_text="1 to PREDICT_MAX_TEXTS (256) texts.",
    )
    top_k = serializers.IntegerField(required=False, min_value=1, max_value=100, help_text="Labels per prediction (5).")

    def validate_texts(self, value: list[str]) -> list[str]:
        limit = settings.PREDICT_MAX_TEXTS
        if len(value) > limit:
            raise serializers.ValidationError(f"At most {limit} texts per request, not {len(value)}.")
        return value


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
