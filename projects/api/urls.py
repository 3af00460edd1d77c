"""``/api/v1/`` routes of projects and their datasets."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from projects.api.datasets import DatasetViewSet, ProjectDatasetsViewSet
from projects.api.views import ProjectViewSet

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="project")

urlpatterns = [
    *router.urls,
    path(
        "projects/<uuid:project_pk>/datasets/",
        ProjectDatasetsViewSet.as_view({"get": "list", "post": "create"}),
        name="project-datasets",
    ),
    path(
        "projects/<uuid:project_pk>/datasets/preview/",
        ProjectDatasetsViewSet.as_view({"post": "preview"}),
        name="project-datasets-preview",
    ),
    path(
        "datasets/<uuid:pk>/", DatasetViewSet.as_view({"get": "retrieve", "delete": "destroy"}), name="dataset-detail"
    ),
    path("datasets/<uuid:pk>/fix/", DatasetViewSet.as_view({"post": "fix"}), name="dataset-fix"),
]
