"""Dashboard URLs of datasets, included under ``/t/<slug>/``."""

from django.urls import path

from projects import views_datasets as views

urlpatterns = [
    path("projects/<uuid:project_id>/datasets/", views.DatasetListView.as_view(), name="dataset-list"),
    path("projects/<uuid:project_id>/datasets/preview/", views.DatasetPreviewView.as_view(), name="dataset-preview"),
    path(
        "projects/<uuid:project_id>/datasets/<uuid:dataset_id>/",
        views.DatasetDetailView.as_view(),
        name="dataset-detail",
    ),
    path(
        "projects/<uuid:project_id>/datasets/<uuid:dataset_id>/fix/",
        views.DatasetFixView.as_view(),
        name="dataset-fix",
    ),
    path(
        "projects/<uuid:project_id>/datasets/<uuid:dataset_id>/delete/",
        views.DatasetDeleteView.as_view(),
        name="dataset-delete",
    ),
]
