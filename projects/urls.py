"""Dashboard URLs of projects, included under ``/t/<slug>/``."""

from django.urls import path

from projects import views

urlpatterns = [
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<uuid:project_id>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<uuid:project_id>/edit/", views.ProjectEditView.as_view(), name="project-edit"),
    path("projects/<uuid:project_id>/delete/", views.ProjectDeleteView.as_view(), name="project-delete"),
]
