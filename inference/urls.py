"""Dashboard URLs of serving, included under ``/t/<slug>/``."""

from django.urls import path

from inference import views

urlpatterns = [
    path("projects/<uuid:project_id>/try/", views.ProjectTryView.as_view(), name="project-try"),
    path("projects/<uuid:project_id>/batches/", views.BatchListView.as_view(), name="batch-list"),
    path(
        "projects/<uuid:project_id>/batches/<uuid:batch_id>/results/",
        views.BatchResultsView.as_view(),
        name="batch-results",
    ),
    path("projects/<uuid:project_id>/review/", views.ReviewListView.as_view(), name="review-list"),
    path("projects/<uuid:project_id>/monitors/", views.MonitorCreateView.as_view(), name="monitor-create"),
    path(
        "projects/<uuid:project_id>/monitors/<uuid:monitor_id>/",
        views.MonitorDetailView.as_view(),
        name="monitor-detail",
    ),
    path(
        "projects/<uuid:project_id>/monitors/<uuid:monitor_id>/rules/",
        views.RuleCreateView.as_view(),
        name="monitor-rule-create",
    ),
    path(
        "projects/<uuid:project_id>/monitors/<uuid:monitor_id>/rules/<uuid:rule_id>/delete/",
        views.RuleDeleteView.as_view(),
        name="monitor-rule-delete",
    ),
]
