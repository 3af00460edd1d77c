"""``/api/v1/`` routes of billing."""

from django.urls import path

from billing.api.usage import UsageView

urlpatterns = [
    path("usage/", UsageView.as_view(), name="usage"),
]
