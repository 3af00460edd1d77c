"""``/api/v1/`` routes of serving. ``hot_path`` holds the prediction route, which config/urls.py puts
first of all: Django tries patterns in order, and every prediction would otherwise walk the others."""

from django.urls import path

from inference.api.batches import BatchPredictionViewSet, ProjectBatchPredictionsViewSet
from inference.api.feedback import ProjectFeedbackViewSet
from inference.api.monitors import AlertRuleViewSet, MonitorViewSet
from inference.api.predict import PredictView

hot_path = [
    path("projects/<uuid:project_pk>/predict/", PredictView.as_view(), name="project-predict"),
]

urlpatterns = [
    path(
        "projects/<uuid:project_pk>/batch-predictions/",
        ProjectBatchPredictionsViewSet.as_view({"get": "list", "post": "create"}),
        name="project-batch-predictions",
    ),
    path(
        "batch-predictions/<uuid:pk>/",
        BatchPredictionViewSet.as_view({"get": "retrieve"}),
        name="batch-prediction-detail",
    ),
    path(
        "batch-predictions/<uuid:pk>/results/",
        BatchPredictionViewSet.as_view({"get": "results"}),
        name="batch-prediction-results",
    ),
    path(
        "projects/<uuid:project_pk>/feedback/",
        ProjectFeedbackViewSet.as_view({"get": "list", "post": "create"}),
        name="project-feedback",
    ),
    path("monitors/", MonitorViewSet.as_view({"get": "list", "post": "create"}), name="monitor-list"),
    path(
        "monitors/<uuid:pk>/",
        MonitorViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="monitor-detail",
    ),
    path("monitors/<uuid:pk>/events/", MonitorViewSet.as_view({"post": "events"}), name="monitor-events"),
    path("monitors/<uuid:pk>/alerts/", MonitorViewSet.as_view({"get": "alerts"}), name="monitor-alerts"),
    path("monitors/<uuid:pk>/series/", MonitorViewSet.as_view({"get": "series"}), name="monitor-series"),
    # A monitor's few rules come in one list, unpaginated (and so documented).
    path(
        "monitors/<uuid:pk>/rules/",
        MonitorViewSet.as_view({"get": "rules", "post": "rules"}, pagination_class=None),
        name="monitor-rules",
    ),
    path(
        "alert-rules/<uuid:pk>/",
        AlertRuleViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="alert-rule-detail",
    ),
]
