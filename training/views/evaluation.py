"""A model version's evaluation as a person reads it, two versions side by side, and the download.

The evaluation page: headline metrics, the per-class table (sortable: static/js/sortable-table.js), the
confusion matrix as a heatmap, the most-confused pairs with example texts. The Content-Security-Policy
allows no style attribute, so the heatmap is a table whose cells carry a class per shade (static/css/app.css).
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.generic import TemplateView

from projects.views import ProjectTenantView
from training import selectors, services
from training.models import ModelVersion
from training.views.models import HEADLINE_LABEL, headline_score

HEAT_LEVELS = 5
# Headline metrics, in the order both pages show them: (key in the report, name people read).
HEADLINE = [
    ("macro_f1", HEADLINE_LABEL),
    ("micro_f1", "Micro-F1"),
    ("weighted_f1", "Weighted F1"),
    ("accuracy", "Accuracy"),
]
# Below this a difference does not show at three decimals: neither better nor worse.
SAME = 0.0005


def heat_level(count: int, row_total: int) -> int:
    """A cell's shade, 0 (empty) to ``HEAT_LEVELS``: its share of its true label's examples."""
    if count <= 0 or row_total <= 0:
        return 0
    return max(1, min(HEAT_LEVELS, math.ceil(count / row_total * HEAT_LEVELS)))


def confusion_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """The confusion matrix row by row (true label), each cell with its count and shade."""
    matrix = metrics.get("confusion_matrix") or {}
    labels, counts = matrix.get("labels") or [], matrix.get("matrix") or []
    rows = []
    for i, (label, row) in enumerate(zip(labels, counts, strict=False)):
        total = sum(row)
        cells = [
            {
                "count": n,
                "predicted": labels[j],
                "level": heat_level(n, total),
                "kind": "ok" if i == j else "bad",
            }
            for j, n in enumerate(row)
        ]
        rows.append({"label": label, "total": total, "cells": cells})
    return rows


def per_class_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    per_class = metrics.get("per_class") or {}
    return [
        {
            "label": label,
            "precision": row.get("precision"),
            "recall": row.get("recall"),
            "f1": row.get("f1-score"),
            "support": row.get("support"),
            "threshold": row.get("threshold"),
        }
        for label, row in per_class.items()
    ]


def _delta_class(delta: float | None) -> str:
    if delta is None or abs(delta) < SAME:
        return "delta-same"
    return "delta-better" if delta > 0 else "delta-worse"


def _value(metrics: dict[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    return float(value) if isinstance(value, int | float) else None


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


class ModelEvaluationView(ProjectTenantView, TemplateView):
    breadcrumb_parents = (("Model versions", "dashboard:model-list"),)
    breadcrumb = "Evaluation"
    template_name = "training/evaluation.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        version = selectors.versions_of(tenant=self.tenant, project=project).filter(pk=kwargs["version_id"]).first()
        if version is None:
            raise Http404("No such model version.")
        metrics = version.metrics or {}
        per_class = per_class_rows(metrics)
        context.update(
            project=project,
            version=version,
            metrics=metrics,
            headline=[(name, _value(metrics, key)) for key, name in HEADLINE],
            per_class=per_class,
            has_thresholds=any(row["threshold"] is not None for row in per_class),
            confusion=confusion_rows(metrics),
            confused=metrics.get("most_confused") or [],
            can_write=self.can_write,
        )
        return context


class ModelCompareView(ProjectTenantView, TemplateView):
    """Two versions side by side (``?a=<id>&b=<id>``); by default the one served against the newest."""

    breadcrumb_parents = (("Model versions", "dashboard:model-list"),)
    breadcrumb = "Compare"

    template_name = "training/compare.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=400 if context["errors"] else 200)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        project = self.get_project()
        versions = list(selectors.versions_of(tenant=self.tenant, project=project))
        errors: list[str] = []
        a, b = self._defaults(versions)
        chosen = {}
        for name in ("a", "b"):
            raw = self.request.GET.get(name, "").strip()
            if not raw:
                continue
            found = self._find(versions, raw)
            if found is None:
                errors.append(f"“{raw}” is not a model version of {project.name}.")
            else:
                chosen[name] = found
        a, b = chosen.get("a", a), chosen.get("b", b)
        if a is not None and a == b and len(chosen) == 1:
            # One version named (from its evaluation page): against the newest other one, not itself.
            other = next(v for v in versions if v != a)
            a, b = (a, other) if "a" in chosen else (other, b)
        context.update(project=project, versions=versions, a=a, b=b, errors=errors)
        if a is not None and b is not None and not errors:
            context.update(self._comparison(a, b))
        return context

    @staticmethod
    def _defaults(versions: list[ModelVersion]) -> tuple[ModelVersion | None, ModelVersion | None]:
        """The served version against the newest; where the served one is the newest, against the one before."""
        if not versions:
            return None, None
        served = next((v for v in versions if v.is_active), None)
        newest = versions[0]
        if served is None or served is newest:
            return (versions[1] if len(versions) > 1 else newest), newest
        return served, newest

    @staticmethod
    def _find(versions: list[ModelVersion], raw: str) -> ModelVersion | None:
        try:
            wanted = uuid.UUID(raw)
        except ValueError:
            return None
        return next((v for v in versions if v.pk == wanted), None)

    @staticmethod
    def _comparison(a: ModelVersion, b: ModelVersion) -> dict[str, Any]:
        ma, mb = a.metrics or {}, b.metrics or {}
        headline = []
        for key, name in HEADLINE:
            va, vb = _value(ma, key), _value(mb, key)
            delta = _difference(va, vb)
            headline.append({"name": name, "a": va, "b": vb, "delta": delta, "css": _delta_class(delta)})
        pa, pb = ma.get("per_class") or {}, mb.get("per_class") or {}
        labels = list(dict.fromkeys([*pa, *pb]))
        rows = []
        for label in labels:
            ra, rb = pa.get(label) or {}, pb.get(label) or {}
            f1a, f1b = _value(ra, "f1-score"), _value(rb, "f1-score")
            delta = _difference(f1a, f1b)
            rows.append(
                {
                    "label": label,
                    "precision_a": _value(ra, "precision"),
                    "precision_b": _value(rb, "precision"),
                    "recall_a": _value(ra, "recall"),
                    "recall_b": _value(rb, "recall"),
                    "f1_a": f1a,
                    "f1_b": f1b,
                    "support_b": rb.get("support"),
                    "delta": delta,
                    "css": _delta_class(delta),
                }
            )
        return {
            "headline": headline,
            "rows": rows,
            "better": sum(1 for r in rows if r["css"] == "delta-better"),
            "worse": sum(1 for r in rows if r["css"] == "delta-worse"),
            "score_a": headline_score(a),
            "score_b": headline_score(b),
        }


class ModelDownloadView(ProjectTenantView):
    """The version as one zip loadable with ``transformers`` alone. Viewers may download: they read every
    other part of the project, and an API key with the ``read`` scope downloads the same archive."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> FileResponse:
        project = self.get_project()
        version = selectors.versions_of(tenant=self.tenant, project=project).filter(pk=kwargs["version_id"]).first()
        if version is None:
            raise Http404("No such model version.")
        archive = services.model_download(tenant=self.tenant, version_id=version.pk)
        return FileResponse(
            archive.file, as_attachment=True, filename=archive.filename, content_type=archive.content_type
        )
