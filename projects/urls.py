"""Dashboard URLs of projects and their datasets, under ``/t/<slug>/`` (config/urls.py composes them)."""

from django.urls import path

from projects.views import datasets, overview, projects

urlpatterns = [
    path("", overview.OverviewView.as_view(), name="overview"),
    path("projects/", projects.ProjectListView.as_view(), name="project-list"),
    path("projects/<uuid:project_id>/", projects.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<uuid:project_id>/edit/", projects.ProjectEditView.as_view(), name="project-edit"),
    path("projects/<uuid:project_id>/delete/", projects.ProjectDeleteView.as_view(), name="project-delete"),
    path("projects/<uuid:project_id>/datasets/", datasets.DatasetListView.as_view(), name="dataset-list"),
    path("projects/<uuid:project_id>/datasets/preview/", datasets.DatasetPreviewView.as_view(), name="dataset-preview"),
    path(
        "projects/<uuid:project_id>/datasets/<uuid:dataset_id>/",
        datasets.DatasetDetailView.as_view(),
        name="dataset-detail",
    ),
    path(
        "projects/<uuid:project_id>/datasets/<uuid:dataset_id>/fix/",
        datasets.DatasetFixView.as_view(),
        name="dataset-fix",
    ),
    path(
        "projects/<uuid:project_id>/datasets/<uuid:dataset_id>/delete/",
        datasets.DatasetDeleteView.as_view(),
        name="dataset-delete",
    ),
]
