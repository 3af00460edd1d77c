"""Billing's routes outside the API: Stripe's webhook (``webhook_patterns``, at the site's root) and the
organization's Billing pages (``urlpatterns``, under /t/<slug>/)."""

from django.urls import URLPattern, path

from billing.views import pages, stripe_webhook

webhook_patterns: list[URLPattern] = [
    path("billing/stripe/webhook/", stripe_webhook.receive, name="stripe-webhook"),
]

urlpatterns: list[URLPattern] = [
    path("billing/", pages.BillingView.as_view(), name="billing"),
    path("billing/checkout/", pages.CheckoutView.as_view(), name="billing-checkout"),
    path("billing/portal/", pages.PortalView.as_view(), name="billing-portal"),
    path("billing/spend-cap/", pages.SpendCapView.as_view(), name="billing-spend-cap"),
]
