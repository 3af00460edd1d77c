"""Dashboard URLs of webhooks, under ``/t/<slug>/`` (config/urls.py composes them)."""

from django.urls import path

from webhooks.views import endpoints

urlpatterns = [
    path("webhooks/", endpoints.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<uuid:endpoint_id>/", endpoints.WebhookDetailView.as_view(), name="webhook-detail"),
]
