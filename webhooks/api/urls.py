"""``/api/v1/webhooks/...``"""

from django.urls import path

from webhooks.api.views import WebhookDeliveryViewSet, WebhookEndpointViewSet

urlpatterns = [
    path("webhooks/", WebhookEndpointViewSet.as_view({"get": "list", "post": "create"}), name="webhook-list"),
    path(
        "webhooks/<uuid:pk>/",
        WebhookEndpointViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="webhook-detail",
    ),
    path("webhooks/<uuid:pk>/test/", WebhookEndpointViewSet.as_view({"post": "send_test"}), name="webhook-test"),
    path(
        "webhooks/<uuid:pk>/rotate-secret/",
        WebhookEndpointViewSet.as_view({"post": "rotate_secret"}),
        name="webhook-rotate-secret",
    ),
    path(
        "webhooks/<uuid:pk>/deliveries/",
        WebhookDeliveryViewSet.as_view({"get": "list"}),
        name="webhook-deliveries",
    ),
]
