"""Dashboard forms of tenants. They check shape only; the services decide what is allowed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from allauth.account.internal.flows.login import record_authentication
from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants.errors import ServiceError
from tenants.models import ApiKeyScope, Role
from tenants.services import tenant_create

if TYPE_CHECKING:
    from projects.models import Project

PENDING_INVITATION_SESSION_KEY = "pending_invitation_token"


class SignupForm(forms.Form):
    """allauth's sign-up form plus the organization the new user will own."""

    organization = forms.CharField(
        max_length=120,
        required=False,
        label="Organization",
        help_text="Your company or team. Leave empty if you are joining through an invitation.",
    )

    def signup(self, request: HttpRequest, user: Any) -> None:
        # The person has just typed their password in this session: sensitive actions right after the sign-up
        # (and its email confirmation) need no second prompt for it.
        record_authentication(request, user, method="password", email=user.email)
        name = self.cleaned_data.get("organization", "").strip()
        joining = bool(request.session.get(PENDING_INVITATION_SESSION_KEY))
        if joining and not name:
            return  # the invitation, accepted after sign-up, gives this user their tenant
        tenant_create(
            name=name or f"{user.email.split('@')[0]}'s team",
            owner=user,
            ip_address=request.META.get("REMOTE_ADDR"),
            signed_up=True,
        )


def add_service_error(form: forms.Form, error: ServiceError) -> None:
    """A service's refusal as an error on the field it names, or on the whole form."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


class TenantForm(forms.Form):
    name = forms.CharField(max_length=120, label="Organization name")


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=50, help_text="The integration that will use it, e.g. “Zendesk bot”.")
    scopes = forms.MultipleChoiceField(
        choices=[
            (ApiKeyScope.READ, "read: see projects, datasets, runs, batch results, feedback, alerts and webhook logs"),
            (ApiKeyScope.PREDICT, "predict: call the model, post monitor events and feedback"),
            (ApiKeyScope.MANAGE, "manage: create, change and delete; includes read"),
        ],
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiKeyScope.PREDICT],
        help_text="A key embedded in an app usually needs predict alone: it cannot read stored texts back.",
    )
    project: forms.ModelChoiceField[Project] = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="All projects",
        help_text="Limit the key to one project.",
    )
    expires_at = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The key stops working at the end of this day (UTC).",
    )

    def __init__(self, *args: Any, projects: QuerySet[Project], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects  # type: ignore[attr-defined]

    def expiry(self) -> datetime | None:
        day: date | None = self.cleaned_data.get("expires_at")
        if day is None:
            return None
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
