"""``POST /billing/stripe/webhook/``: Stripe's events in, verified by their signature (no session, no CSRF)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from billing import stripe_api
from billing.services.stripe_events import stripe_event_receive
from tenants import db
from tenants.api.errors import error_body
from tenants.errors import ServiceError


@csrf_exempt
def receive(request: HttpRequest) -> HttpResponse:
    """Store the event and answer at once (200, also for a duplicate); applying it is a task's work."""
    if request.method != "POST":
        response = JsonResponse(error_body("method_not_allowed", "Stripe's webhooks are POSTed here."), status=405)
        response["Allow"] = "POST"
        return response
    if not stripe_api.enabled() or not settings.STRIPE_WEBHOOK_SECRET:
        return JsonResponse(error_body("not_found", "Billing is not configured on this server."), status=404)
    try:
        with db.system_context(), transaction.atomic():  # Stripe names customers: any tenant's rows
            _, created = stripe_event_receive(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except ServiceError as exc:
        return JsonResponse(error_body(exc.code, exc.message), status=exc.status)
    return JsonResponse({"received": True, "duplicate": not created})
