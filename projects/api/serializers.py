from __future__ import annotations

from rest_framework import serializers

from projects.models import Project


class ProjectSerializer(serializers.ModelSerializer[Project]):
    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "use_case",
            "multi_label",
            "confidence_threshold",
            "review_low_confidence",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Uniqueness is the service's to check (it answers 409), not the serializer's.
        validators: list[object] = []
