"""Operators' billing: plans (editable; each edit goes to the audit log of every tenant on the plan),
subscriptions (changed only through audited actions), and the usage ledgers (records, counters, pushes to
Stripe, reconciliations, Stripe's events), read-only."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import transaction
from django.db.models import DateTimeField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from billing.models import (
    MeterPush,
    Plan,
    QuotaCounter,
    Reconciliation,
    StripeEvent,
    Subscription,
    ThresholdNotice,
    UsageRecord,
)
from tenants.admin import ReadOnlyAdmin  # one read-only base for every ledger
from tenants.errors import ServiceError
from tenants.models import AuditAction
from tenants.services.audit import audit_record

ACTION_TEMPLATE = "admin/billing/subscription_action.html"


def dollars(cents: int | None) -> str:
    return "—" if cents is None else f"${cents / 100:,.2f}"


# --- plans and subscriptions ---------------------------------------------------------------------------


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """Operators edit plans here; a limit left empty falls back to its setting (see each field's help)."""

    list_display = [
        "name",
        "code",
        "is_default",
        "monthly_price_cents",
        "included_predictions",
        "included_training_minutes",
        "max_projects",
        "training_max_running",
        "gpu_queue",
    ]
    list_editable = ["monthly_price_cents", "included_predictions", "included_training_minutes"]
    search_fields = ["code", "name"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a plan in use cannot go; one never used harms nothing by staying

    def save_model(self, request: HttpRequest, obj: Plan, form: forms.ModelForm[Plan], change: bool) -> None:
        """Save, and tell each tenant on the plan what changed (from the change form or the list's fields)."""
        edited = {
            name: [_plain(form.initial.get(name)), _plain(form.cleaned_data.get(name))]
            for name in form.changed_data
            if name in form.cleaned_data
        }
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change or not edited:
                return
            for tenant_id in Subscription.all_tenants.filter(plan=obj).values_list("tenant_id", flat=True):
                audit_record(
                    tenant=tenant_id,
                    action=AuditAction.PLAN_CHANGED,
                    actor=request.user,  # type: ignore[arg-type]
                    target_label=f"{obj.name} ({obj.code}) edited",
                    plan=obj.code,
                    edited=edited,
                )


def _plain(value: Any) -> Any:
    """A form value as JSON can hold it."""
    return value if value is None or isinstance(value, bool | int | str) else str(value)


class PlanChangeForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.all(), empty_label=None)
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


class CreditGrantForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount (USD)", max_digits=9, decimal_places=2, min_value=Decimal("0.01"), help_text="Off the next bills."
    )
    reason = forms.CharField(max_length=350, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


# Applies the form to one subscription; raises ServiceError.
Apply = Callable[[Subscription, dict[str, Any], HttpRequest], None]


def _plan_apply(subscription: Subscription, data: dict[str, Any], request: HttpRequest) -> None:
    from billing.services.checkout import plan_change

    plan_change(tenant=subscription.tenant, plan=data["plan"], actor=request.user, reason=data["reason"])  # type: ignore[arg-type]


def _credit_apply(subscription: Subscription, data: dict[str, Any], request: HttpRequest) -> None:
    from billing.services.checkout import credit_grant

    cents = int((data["amount"] * 100).to_integral_value())
    credit_grant(tenant=subscription.tenant, amount_cents=cents, actor=request.user, reason=data["reason"])  # type: ignore[arg-type]


SUBSCRIPTION_FIELDS = ("tenant", "plan", "status", "credit", "spend_cap", "created_at", "updated_at")
SUBSCRIPTION_STRIPE_FIELDS = (
    "stripe_customer_id",
    "stripe_subscription_id",
    "stripe_status",
    "stripe_state_at",
    "current_period_start",
    "current_period_end",
    "past_due_since",
    "grace_until",
)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    """Every tenant's plan, payment state and credit. The plan and the credit change only through the
    "Change plan…" and "Grant credit…" actions, which are audited."""

    list_display = [
        "tenant",
        "plan",
        "status",
        "stripe_status",
        "grace_until",
        "spend_cap",
        "credit",
        "period",
        "stripe_customer_id",
    ]
    list_filter = ["plan", "status"]
    search_fields = ["tenant__slug", "tenant__name", "stripe_customer_id"]
    list_select_related = ["tenant", "plan"]
    actions = ["change_plan", "grant_credit"]
    fieldsets = [
        (None, {"fields": SUBSCRIPTION_FIELDS}),
        ("Usage this period", {"fields": ("usage_this_period",)}),
        ("Stripe", {"fields": SUBSCRIPTION_STRIPE_FIELDS}),
    ]
    readonly_fields = (*SUBSCRIPTION_FIELDS, "usage_this_period", *SUBSCRIPTION_STRIPE_FIELDS)

    @admin.display(description="Spend cap", ordering="spend_cap_cents")
    def spend_cap(self, obj: Subscription) -> str:
        return dollars(obj.spend_cap_cents)

    @admin.display(description="Credit", ordering="credit_cents")
    def credit(self, obj: Subscription) -> str:
        return dollars(obj.credit_cents)

    @admin.display(description="Period")
    def period(self, obj: Subscription) -> str:
        if obj.current_period_start and obj.current_period_end:
            return f"{obj.current_period_start:%Y-%m-%d} to {obj.current_period_end:%Y-%m-%d}"
        return "calendar month"

    @admin.display(description="Usage this period")
    def usage_this_period(self, obj: Subscription) -> SafeString:
        from billing.selectors import usage_summary

        summary = usage_summary(tenant_id=obj.tenant_id)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    meter.meter,
                    f"{meter.used:,} {meter.unit}s",
                    f"{meter.included:,}",
                    "no limit" if meter.remaining is None else f"{meter.remaining:,}",
                    f"{meter.overage:,}",
                    dollars(meter.overage_cents),
                )
                for meter in summary.meters
            ),
        )
        return format_html(
            "<p>{} to {} on {}: base {}, overage {}, credit {}; estimated bill <strong>{}</strong>.</p>"
            '<table class="usage-this-period"><thead><tr><th>Meter</th><th>Used</th><th>Included</th>'
            "<th>Remaining</th><th>Overage</th><th>Overage price</th></tr></thead><tbody>{}</tbody></table>",
            f"{summary.period.start:%Y-%m-%d}",
            f"{summary.period.end:%Y-%m-%d}",
            summary.plan or "no plan",
            dollars(summary.base_cents),
            dollars(summary.overage_cents),
            dollars(summary.credit_cents),
            dollars(summary.estimated_cents),
            rows,
        )

    @admin.action(description="Change plan…", permissions=["operate"])
    def change_plan(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> HttpResponse | None:
        return self._form_action(request, queryset, PlanChangeForm, _plan_apply, "Change plan")

    @admin.action(description="Grant credit…", permissions=["operate"])
    def grant_credit(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> HttpResponse | None:
        return self._form_action(request, queryset, CreditGrantForm, _credit_apply, "Grant credit")

    def _form_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[Subscription],
        form_class: type[forms.Form],
        apply: Apply,
        title: str,
    ) -> HttpResponse | None:
        """An action through a form page: the form first, then ``apply`` to each selected subscription.
        Nothing applied (a form error, or every subscription refused): the form again, with the errors."""
        subscriptions = list(queryset.select_related("tenant", "plan"))
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done, refused = 0, []
            for subscription in subscriptions:
                try:
                    apply(subscription, form.cleaned_data, request)
                except ServiceError as error:
                    refused.append(f"{subscription.tenant}: {error.message}")
                else:
                    done += 1
            if done:
                self.message_user(request, f"{title}: done for {done} subscription(s).", messages.SUCCESS)
                for text in refused:
                    self.message_user(request, f"{title}: not done for {text}", messages.ERROR)
                return None
            for text in refused:
                form.add_error(None, text)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title} of {len(subscriptions)} subscription(s)",
            "opts": self.opts,
            "form": form,
            "subscriptions": subscriptions,
            "items": [(subscription, dollars(subscription.credit_cents)) for subscription in subscriptions],
            "action": request.POST.get("action", ""),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, ACTION_TEMPLATE, context)


# --- usage ---------------------------------------------------------------------------------------------


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    """Every billable event; ``push`` is the meter event that carries it to Stripe."""

    list_display = ["created_at", "tenant", "kind", "source", "quantity", "project", "sent_at", "push"]
    list_filter = ["kind", "source", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["tenant__slug", "tenant__name", "project__name"]
    list_select_related = ["tenant", "project", "push"]
    date_hierarchy = "created_at"


def _records_in_period() -> tuple[Subquery, Coalesce]:
    """The records of a counter's tenant and meter from its period's start to the next counter's (a period
    with records always has a counter), summed."""
    later = QuotaCounter.all_tenants.filter(
        tenant_id=OuterRef("tenant_id"), kind=OuterRef("kind"), period_start__gt=OuterRef("period_start")
    ).order_by("period_start")
    records = (
        UsageRecord.all_tenants.filter(
            tenant_id=OuterRef("tenant_id"),
            kind=OuterRef("kind"),
            created_at__gte=OuterRef("period_start"),
            created_at__lt=OuterRef("period_end"),
        )
        .order_by()
        .values("tenant_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    period_end = Coalesce(
        Subquery(later.values("period_start")[:1]),
        Value(datetime(9999, 1, 1, tzinfo=UTC)),
        output_field=DateTimeField(),
    )
    return Subquery(records), period_end


@admin.register(QuotaCounter)
class QuotaCounterAdmin(ReadOnlyAdmin):
    """Usage per tenant, meter and billing period: the counters quotas are enforced on, next to the sum of
    the period's usage records (the two should always agree)."""

    list_display = ["tenant", "kind", "period_start", "used", "records"]
    list_filter = ["kind", "period_start"]
    search_fields = ["tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]
    ordering = ["-period_start", "tenant__slug", "kind"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[QuotaCounter]:
        records, period_end = _records_in_period()
        return super().get_queryset(request).annotate(period_end=period_end).annotate(records_total=records)

    @admin.display(description="Sum of records")
    def records(self, obj: QuotaCounter) -> str:
        total = int(getattr(obj, "records_total", None) or 0)
        if total == obj.used:
            return f"{total:,}"
        return f"{total:,} (differs by {total - obj.used:+,})"


@admin.register(ThresholdNotice)
class ThresholdNoticeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "tenant", "meter", "level", "period_start", "used", "limit"]
    list_filter = ["meter", "level"]
    search_fields = ["tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]


# --- Stripe --------------------------------------------------------------------------------------------


class FailingFilter(admin.SimpleListFilter):
    title = "failing"
    parameter_name = "failing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Failing (unsent after an error)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(attempts__gt=0, sent_at__isnull=True)
        return queryset


@admin.register(MeterPush)
class MeterPushAdmin(ReadOnlyAdmin):
    """Usage sent to Stripe: one meter event per tenant, meter and UTC day, retried with backoff."""

    list_display = ["tenant", "kind", "day", "quantity", "attempts", "error", "next_attempt_at", "sent_at"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), FailingFilter, "kind"]
    search_fields = ["tenant__slug", "tenant__name", "stripe_customer_id"]
    list_select_related = ["tenant"]
    date_hierarchy = "day"
    actions = ["send_again"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": "Usage sent to Stripe", **(extra_context or {})})

    @admin.display(description="Last error")
    def error(self, obj: MeterPush) -> str:
        return Truncator(obj.last_error).chars(80)

    @admin.action(description="Send again now", permissions=["operate"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[MeterPush]) -> None:
        """Make the selected unsent pushes due at once (the next send, within a minute, takes them)."""
        from billing.services.meter_push import usage_resend

        unsent: dict[UUID, list[UUID]] = defaultdict(list)
        skipped = 0
        for pk, tenant_id, sent_at in queryset.values_list("pk", "tenant_id", "sent_at"):
            if sent_at is None:
                unsent[tenant_id].append(pk)
            else:
                skipped += 1
        due = 0
        with transaction.atomic():
            for tenant_id, ids in unsent.items():
                count = usage_resend(push_ids=ids)
                if count:
                    audit_record(
                        tenant=tenant_id,
                        action=AuditAction.USAGE_RESENT,
                        actor=request.user,  # type: ignore[arg-type]
                        target_label=f"{count} meter event(s)",
                        pushes=[str(pk) for pk in ids],
                    )
                due += count
        text = f"{due} push(es) will be sent again within a minute."
        if skipped:
            text += f" {skipped} already sent, skipped."
        self.message_user(request, text, messages.SUCCESS if due else messages.WARNING)


class DriftFilter(admin.SimpleListFilter):
    title = "drift"
    parameter_name = "drift"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Has drift or unknown"), ("no", "Matches Stripe")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        drifting = ~Q(drift=0) | Q(stripes__isnull=True)
        if self.value() == "yes":
            return queryset.filter(drifting)
        if self.value() == "no":
            return queryset.exclude(drifting)
        return queryset


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    """Our daily totals against Stripe's meter summaries; drift is Stripe's minus ours."""

    list_display = ["tenant", "kind", "day", "ours", "stripes", "drift", "checked_at"]
    list_filter = [DriftFilter, "kind"]
    search_fields = ["tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]
    date_hierarchy = "day"


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    """Stripe's webhook events as received; an unprocessed one can be processed again."""

    list_display = ["id", "type", "created", "tenant", "processed_at", "attempts", "short_error"]
    list_filter = ["type", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["id", "type", "tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]
    date_hierarchy = "created"
    exclude = ["payload"]
    readonly_fields = ["payload_json"]
    actions = ["process_again"]

    @admin.display(description="Error")
    def short_error(self, obj: StripeEvent) -> str:
        return Truncator(obj.error).chars(80)

    @admin.display(description="Payload")
    def payload_json(self, obj: StripeEvent) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))

    @admin.action(description="Process again", permissions=["operate"])
    def process_again(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        from billing.tasks import process_stripe_event

        ids = list(queryset.filter(processed_at__isnull=True).values_list("pk", flat=True))
        skipped = queryset.count() - len(ids)
        for event_id in ids:
            transaction.on_commit(partial(process_stripe_event.delay, event_id))
        text = f"{len(ids)} event(s) queued to be processed again."
        if skipped:
            text += f" {skipped} already processed, skipped."
        self.message_user(request, text, messages.SUCCESS if ids else messages.WARNING)
