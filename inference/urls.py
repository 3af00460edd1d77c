"""Dashboard URLs of serving, included under ``/t/<slug>/``."""

from django.urls import path

from inference import views

urlpatterns = [
    path("projects/<uuid:project_id>/try/", views.ProjectTryView.as_view(), name="project-try"),
]
