from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from tenants.services import tenant_create

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
