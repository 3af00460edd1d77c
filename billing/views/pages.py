"""The Billing page of an organization (owners and admins): plan, usage against quotas, the bill so far,
invoices, plans to upgrade to, the spend cap; and its actions: Checkout, the Customer Portal, the cap."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import TemplateView

from billing import selectors, stripe_api
from billing.models import Plan, Subscription, SubscriptionStatus, UsageKind
from billing.quotas import Period
from billing.selectors import MeterUsage, UsageSummary
from billing.services import spend_cap_set
from tenants.dashboard import TenantView
from tenants.errors import ServiceError
from tenants.forms import add_service_error
from tenants.models import Role

NOT_CONFIGURED = "Billing is not configured on this server: plans and quotas apply, nothing is charged."
CHECKOUT_NOTICES = {
    "success": (messages.SUCCESS, "Thank you: your new plan applies as soon as Stripe confirms the payment."),
    "cancelled": (messages.INFO, "Checkout cancelled: nothing was charged and your plan is unchanged."),
}


class SpendCapForm(forms.Form):
    spend_cap = forms.DecimalField(
        label="Spend cap (USD a month)",
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(1_000_000),
        decimal_places=2,
        help_text="Billable work stops when this month's estimated bill reaches it. Empty: no cap.",
    )

    def cap_cents(self) -> int | None:
        dollars = self.cleaned_data["spend_cap"]
        return None if dollars is None else int(dollars * 100)


def _money(cents: float) -> str:
    return f"${cents / 100:,.2f}"


def _amount(kind: str, units: int) -> str:
    """Predictions as a count; training seconds in minutes, one decimal."""
    return f"{units:,}" if kind == UsageKind.PREDICTION else f"{units / 60:,.1f}"


def _meter_row(meter: MeterUsage) -> dict[str, Any]:
    kind = meter.kind
    unit = "predictions" if kind == UsageKind.PREDICTION else "minutes"
    if meter.remaining is not None:
        remaining = f"{_amount(kind, meter.remaining)} {unit}"
    else:  # a paid plan without a cap goes on, billing overage
        left = max(0, meter.included - meter.used)
        remaining = f"{_amount(kind, left)} {unit} included, then overage"
    return {
        "kind": kind,
        "name": "Predictions" if kind == UsageKind.PREDICTION else "Training",
        "unit": unit,
        "used": _amount(kind, meter.used),
        "included": _amount(kind, meter.included),
        "limit": None if meter.limit is None or meter.limit == meter.included else _amount(kind, meter.limit),
        "remaining": remaining,
        "overage": _amount(kind, meter.overage),
        "overage_cost": _money(meter.overage_cents),
        "percent": meter.percent,
    }


def _period_days(period: Period) -> list[date]:
    first = period.start.date()
    last = min(period.end - timedelta(microseconds=1), timezone.now()).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _chart(tenant_id: Any, period: Period) -> dict[str, Any]:
    """Each day of the period so far: texts predicted and training minutes."""
    rows = {row["date"]: row for row in selectors.usage_daily(tenant_id=tenant_id, start=period.start, end=period.end)}
    days = _period_days(period)
    empty = {UsageKind.PREDICTION.value: 0, UsageKind.TRAINING_SECONDS.value: 0}
    return {
        "days": [day.isoformat() for day in days],
        "predictions": [rows.get(day, empty)[UsageKind.PREDICTION] for day in days],
        "training_minutes": [round(rows.get(day, empty)[UsageKind.TRAINING_SECONDS] / 60, 1) for day in days],
        "any": bool(rows),
    }


def _plan_row(plan: Plan, current: Plan | None) -> dict[str, Any]:
    predictions = f"{plan.included_predictions:,} predictions"
    training = f"{plan.included_training_minutes:,} training minutes"
    if plan.prediction_overage_cents_per_1000 is not None:
        predictions += f", then {_money(plan.prediction_overage_cents_per_1000)} per 1,000"
    if plan.training_overage_cents_per_minute is not None:
        training += f", then {_money(plan.training_overage_cents_per_minute)} a minute"
    return {
        "plan": plan,
        "price": f"{_money(plan.monthly_price_cents)} a month" if plan.monthly_price_cents else "Free",
        "predictions": predictions,
        "training": training,
        "current": current is not None and plan.pk == current.pk,
        "paid": not plan.is_default and plan.monthly_price_cents > 0,
    }


def _estimate_line(summary: UsageSummary) -> str:
    parts = [f"{_money(summary.base_cents)} plan", f"{_money(summary.overage_cents)} overage"]
    line = " + ".join(parts)
    if summary.credit_cents:
        line += f" - {_money(summary.credit_cents)} credit"
    return f"{line} = {_money(summary.estimated_cents)}"


class BillingTenantView(TenantView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def to_billing(self) -> HttpResponse:
        return redirect("dashboard:billing", tenant_slug=self.tenant.slug)


class BillingView(BillingTenantView, TemplateView):
    template_name = "billing/billing.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        notice = CHECKOUT_NOTICES.get(request.GET.get("checkout", ""))
        if notice is not None:
            messages.add_message(request, *notice)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        tenant_id = self.tenant.pk
        summary = selectors.usage_summary(tenant_id=tenant_id)
        # The Stripe side of the subscription: whether Checkout or the Portal applies.
        account = Subscription.objects.for_tenant(self.tenant).values("stripe_customer_id", "stripe_subscription_id")
        stripe_ids = account.first() or {"stripe_customer_id": "", "stripe_subscription_id": ""}
        context.setdefault("cap_form", SpendCapForm(initial={"spend_cap": self._cap_dollars(summary)}))
        context.update(
            summary=summary,
            past_due=summary.status == SubscriptionStatus.PAST_DUE,
            grace_over=summary.plan != summary.subscribed_plan,
            period_last_day=(summary.period.end - timedelta(microseconds=1)).date(),
            meters=[_meter_row(meter) for meter in summary.meters],
            chart=_chart(tenant_id, summary.period),
            estimate_line=_estimate_line(summary),
            base=_money(summary.base_cents),
            estimated=_money(summary.estimated_cents),
            spend_cap=None if summary.spend_cap_cents is None else _money(summary.spend_cap_cents),
            plans=[_plan_row(plan, summary.subscribed_plan) for plan in Plan.objects.all()],
            stripe_enabled=stripe_api.enabled(),
            not_configured=NOT_CONFIGURED,
            has_customer=bool(stripe_ids["stripe_customer_id"]),
            subscribed_at_stripe=bool(stripe_ids["stripe_subscription_id"]),
            invoices=self._invoices(),
        )
        return context

    @staticmethod
    def _cap_dollars(summary: UsageSummary) -> Decimal | None:
        cents = summary.spend_cap_cents
        return None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01"))

    def _invoices(self) -> list[dict[str, Any]]:
        from billing.services.checkout import invoices_list

        return [
            {**invoice, "total_text": f"{invoice['total'] / 100:,.2f} {str(invoice['currency']).upper()}"}
            for invoice in invoices_list(tenant=self.tenant)
        ]


class CheckoutView(BillingTenantView):
    """``POST plan=<code>``: off to Stripe Checkout to subscribe; a refusal comes back as a message."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from billing.services.checkout import checkout_start

        try:
            url = checkout_start(tenant=self.tenant, plan_code=request.POST.get("plan", ""), actor=self.user)
        except ServiceError as error:
            messages.error(request, error.message)
            return self.to_billing()
        return redirect(url)


class PortalView(BillingTenantView):
    """``POST``: off to the Stripe Customer Portal (payment method, plan changes, cancelling, invoices)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from billing.services.checkout import portal_start

        try:
            url = portal_start(tenant=self.tenant)
        except ServiceError as error:
            messages.error(request, error.message)
            return self.to_billing()
        return redirect(url)


class SpendCapView(BillingView):
    """``POST spend_cap=<dollars>`` (empty: no cap); a bad value is shown on the page's form."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        form = SpendCapForm(request.POST)
        if form.is_valid():
            cap = form.cap_cents()
            try:
                spend_cap_set(tenant=self.tenant, cap_cents=cap, actor=self.user, ip_address=self.client_ip)
            except ServiceError as error:
                add_service_error(form, error)
            else:
                text = "Spend cap removed." if cap is None else f"Spend cap set to {_money(cap)} a month."
                messages.success(request, text)
                return self.to_billing()
        return self.render_to_response(self.get_context_data(cap_form=form), status=400)
