"""Dashboard URLs of serving, under ``/t/<slug>/`` (config/urls.py composes them)."""

from django.urls import path

from inference.views import batches, monitors, review, try_box

urlpatterns = [
    path("projects/<uuid:project_id>/try/", try_box.ProjectTryView.as_view(), name="project-try"),
    path("projects/<uuid:project_id>/batches/", batches.BatchListView.as_view(), name="batch-list"),
    path(
        "projects/<uuid:project_id>/batches/<uuid:batch_id>/results/",
        batches.BatchResultsView.as_view(),
        name="batch-results",
    ),
    path("projects/<uuid:project_id>/review/", review.ReviewListView.as_view(), name="review-list"),
    path("projects/<uuid:project_id>/monitors/", monitors.MonitorCreateView.as_view(), name="monitor-create"),
    path(
        "projects/<uuid:project_id>/monitors/<uuid:monitor_id>/",
        monitors.MonitorDetailView.as_view(),
        name="monitor-detail",
    ),
    path(
        "projects/<uuid:project_id>/monitors/<uuid:monitor_id>/rules/",
        monitors.RuleCreateView.as_view(),
        name="monitor-rule-create",
    ),
    path(
        "projects/<uuid:project_id>/monitors/<uuid:monitor_id>/rules/<uuid:rule_id>/delete/",
        monitors.RuleDeleteView.as_view(),
        name="monitor-rule-delete",
    ),
]
