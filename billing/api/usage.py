"""``GET /api/v1/usage/``: this billing period's use of each meter against the plan, the estimated bill,
and usage per day (or month) over any range. Any valid API key may read it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Sum
from django.db.models.functions import TruncDay, TruncMonth
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billing import quotas, selectors
from billing.models import UsageKind, UsageRecord
from tenants.api.base import TenantScopedMixin
from tenants.errors import InvalidInput

MAX_RANGE_DAYS = 400
GRANULARITIES = {"day": TruncDay, "month": TruncMonth}


class MeterSerializer(serializers.Serializer[Any]):
    meter = serializers.ChoiceField(choices=list(quotas.METER_NAMES.values()))
    unit = serializers.ChoiceField(choices=["text", "second"], help_text="Training is metered in compute seconds.")
    included = serializers.IntegerField(help_text="Included in the plan per period.")
    used = serializers.IntegerField(help_text="Used this period.")
    limit = serializers.IntegerField(allow_null=True, help_text="Where work stops (402); null: it goes on.")
    remaining = serializers.IntegerField(allow_null=True, help_text="Left before the limit; null: no limit.")
    overage = serializers.IntegerField(help_text="Used past the included amount (billed on paid plans).")
    overage_cents = serializers.IntegerField()


class ChargeSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    base_cents = serializers.IntegerField()
    overage_cents = serializers.IntegerField()
    credit_cents = serializers.IntegerField()
    total_cents = serializers.IntegerField()


class RangeSerializer(serializers.Serializer[Any]):
    granularity = serializers.ChoiceField(choices=list(GRANULARITIES))
    totals = serializers.DictField(child=serializers.IntegerField(), help_text="Per meter.")
    by_source = serializers.DictField(child=serializers.IntegerField(), help_text="api, monitor, batch, training.")
    series = serializers.ListField(child=serializers.DictField(), help_text="One entry per bucket with any use.")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()  # "from" and "to" are keywords: they cannot be class attributes
        fields["from"] = serializers.DateTimeField()
        fields["to"] = serializers.DateTimeField()
        return fields


class UsageSerializer(serializers.Serializer[Any]):
    plan = serializers.DictField()
    period = serializers.DictField()
    meters = MeterSerializer(many=True)
    estimated_charge = ChargeSerializer()
    spend_cap_cents = serializers.IntegerField(allow_null=True)
    range = RangeSerializer()


_EXAMPLE = {
    "plan": {"code": "free", "name": "Free", "status": "active", "grace_until": None},
    "period": {"start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
    "meters": [
        {
            "meter": "predictions",
            "unit": "text",
            "included": 2000,
            "used": 37,
            "limit": 2000,
            "remaining": 1963,
            "overage": 0,
            "overage_cents": 0,
        },
        {
            "meter": "training",
            "unit": "second",
            "included": 1800,
            "used": 412,
            "limit": 1800,
            "remaining": 1388,
            "overage": 0,
            "overage_cents": 0,
        },
    ],
    "estimated_charge": {"currency": "usd", "base_cents": 0, "overage_cents": 0, "credit_cents": 0, "total_cents": 0},
    "spend_cap_cents": None,
    "range": {
        "from": "2026-12-01T00:00:00Z",
        "to": "2027-01-01T00:00:00Z",
        "granularity": "day",
        "totals": {"predictions": 37, "training": 412},
        "by_source": {"api": 30, "monitor": 7, "training": 412},
        "series": [{"start": "2026-12-03T00:00:00Z", "predictions": 37, "training": 412}],
    },
}


def _instant(raw: str, field: str, *, end: bool) -> datetime:
    """An ISO date (a whole day: ``to`` includes it) or datetime; naive times are UTC."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{field} must be an ISO date (2026-12-01) or date and time (2026-12-01T12:00:00Z); got {raw!r}.",
            field=field,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _range(request: Request, period: quotas.Period) -> tuple[datetime, datetime, str]:
    params = request.query_params
    start = _instant(params["from"], "from", end=False) if params.get("from") else period.start
    end = _instant(params["to"], "to", end=True) if params.get("to") else period.end
    granularity = params.get("granularity", "day")
    if granularity not in GRANULARITIES:
        raise InvalidInput(
            f"granularity must be one of {', '.join(GRANULARITIES)}; got {granularity!r}.", field="granularity"
        )
    if end <= start:
        raise InvalidInput("to must be after from.", field="to")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidInput(f"A range may span at most {MAX_RANGE_DAYS} days.", field="to")
    return start, end, granularity


class UsageView(TenantScopedMixin, generics.GenericAPIView[UsageRecord]):
    model = UsageRecord
    read_scope = None  # any valid key: billing needs the numbers, which hold no stored texts
    serializer_class = UsageSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="Start (ISO date or datetime; default: the period's start)."),
            OpenApiParameter("to", str, description="End (an ISO date includes that day; default: the period's end)."),
            OpenApiParameter("granularity", str, enum=list(GRANULARITIES), description="Buckets of the series."),
        ],
        responses={200: UsageSerializer},
        examples=[OpenApiExample("A Free tenant early in the month", value=_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        tenant_id = self.tenant.pk
        summary = selectors.usage_summary(tenant_id=tenant_id)
        start, end, granularity = _range(request, summary.period)
        return Response(
            {
                "plan": {
                    "code": summary.plan.code if summary.plan else None,
                    "name": summary.plan.name if summary.plan else None,
                    "status": summary.status,
                    "grace_until": summary.grace_until,
                },
                "period": {"start": summary.period.start, "end": summary.period.end},
                "meters": [
                    {
                        "meter": m.meter,
                        "unit": m.unit,
                        "included": m.included,
                        "used": m.used,
                        "limit": m.limit,
                        "remaining": m.remaining,
                        "overage": m.overage,
                        "overage_cents": m.overage_cents,
                    }
                    for m in summary.meters
                ],
                "estimated_charge": {
                    "currency": "usd",
                    "base_cents": summary.base_cents,
                    "overage_cents": summary.overage_cents,
                    "credit_cents": summary.credit_cents,
                    "total_cents": summary.estimated_cents,
                },
                "spend_cap_cents": summary.spend_cap_cents,
                "range": self._range_usage(start, end, granularity),
            }
        )

    def _range_usage(self, start: datetime, end: datetime, granularity: str) -> dict[str, Any]:
        records = self.get_queryset().filter(created_at__gte=start, created_at__lt=end)
        rows = (
            records.annotate(bucket=GRANULARITIES[granularity]("created_at"))
            .values("bucket", "kind")
            .annotate(total=Sum("quantity"))
            .order_by("bucket")
        )
        series: dict[datetime, dict[str, int]] = {}
        for row in rows:
            bucket = series.setdefault(row["bucket"], {name: 0 for name in quotas.METER_NAMES.values()})
            bucket[quotas.METER_NAMES[UsageKind(row["kind"])]] = int(row["total"])
        totals = {name: sum(b[name] for b in series.values()) for name in quotas.METER_NAMES.values()}
        by_source = selectors.usage_by_source(tenant_id=self.tenant.pk, start=start, end=end)
        return {
            "from": start,
            "to": end,
            "granularity": granularity,
            "totals": totals,
            "by_source": by_source,
            "series": [{"start": bucket, **values} for bucket, values in series.items()],
        }
