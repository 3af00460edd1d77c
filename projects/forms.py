"""Dashboard forms of projects: shape only; names and their uniqueness are the services' business."""

from __future__ import annotations

from typing import Any

from django import forms

from projects.models import UseCase


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    use_case = forms.ChoiceField(choices=UseCase.choices, initial=UseCase.CUSTOMER_SERVICE, label="Use case")
    multi_label = forms.BooleanField(
        required=False, label="Several labels per text", help_text="Usual for recommendation interests."
    )
    confidence_threshold = forms.FloatField(
        min_value=0.0,
        max_value=1.0,
        initial=0.5,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text="Customer service: predictions scoring below this are marked needs_human.",
    )
    review_low_confidence = forms.BooleanField(
        required=False,
        initial=True,
        label="Keep unsure predictions for review",
        help_text="Predictions under the threshold go to the review list (their texts are stored).",
    )

    def fields_for_service(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
