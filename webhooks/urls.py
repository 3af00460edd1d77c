"""Dashboard URLs of webhooks, under ``/t/<slug>/`` (config/urls.py composes them)."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhooks/", views.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<uuid:endpoint_id>/", views.WebhookDetailView.as_view(), name="webhook-detail"),
]
