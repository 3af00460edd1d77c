"""Pages of members and invitations: list, invite, change a role, remove, revoke, accept."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from django.contrib import messages
from django.core.mail import send_mail
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View
from django.views.generic import TemplateView

from tenants import selectors, services
from tenants.dashboard import TenantView
from tenants.errors import Forbidden, NotFound, ServiceError
from tenants.forms import (
    PENDING_INVITATION_SESSION_KEY,
    InvitationForm,
    RoleForm,
    add_service_error,
)
from tenants.models import Role
from tenants.reauthentication import sudo_post
from tenants.views.organizations import client_ip

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class MembersTenantView(TenantView):
    read_role = Role.VIEWER
    write_role = Role.ADMIN

    def back_to_members(self) -> HttpResponse:
        return redirect("dashboard:member-list", tenant_slug=self.tenant.slug)


class MemberListView(MembersTenantView, TemplateView):
    template_name = "tenants/members.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        is_owner = self.membership.has_role(Role.OWNER)
        context.setdefault("invite_form", InvitationForm())
        context.update(
            members=selectors.members_of(tenant=self.tenant),
            invitations=selectors.pending_invitations(tenant=self.tenant).select_related("invited_by"),
            can_manage=self.membership.has_role(Role.ADMIN),
            is_owner=is_owner,
            # An admin may grant any role but owner; offering it would only earn a refusal.
            grantable_roles=[(value, label) for value, label in Role.choices if is_owner or value != Role.OWNER],
        )
        return context


class InvitationCreateView(MemberListView):
    http_method_names = ["post"]

    @sudo_post()
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation, token = services.invitation_create(
                    tenant=self.tenant,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    invited_by=self.membership,
                    ip_address=self.client_ip,
                )
            except ServiceError as error:
                add_service_error(form, error)
                return self.render_to_response(self.get_context_data(invite_form=form), status=error.status)
            link = request.build_absolute_uri(reverse("dashboard:invitation-accept", args=[token]))
            context = {"tenant": self.tenant, "invitation": invitation, "inviter": self.user, "link": link}
            send_mail(
                f"You are invited to {self.tenant.name} on Tunebase",
                render_to_string("tenants/invitation_email.txt", context),
                None,
                [invitation.email],
            )
            messages.success(request, f"Invitation sent to {invitation.email}.")
            # Shown on this response only: the token is not stored anywhere we could show it again.
            return self.render_to_response(self.get_context_data(invitation_link=link, invited=invitation))
        return self.render_to_response(self.get_context_data(invite_form=form), status=400)


class _MemberActionView(MembersTenantView):
    """A POST on one member, invitation or key: refusals come back as messages on the list page."""

    http_method_names = ["post"]
    success_message = ""

    def act(self) -> None:
        raise NotImplementedError

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            self.act()
        except NotFound as error:
            raise Http404(error.message) from None
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, self.success_message)
        return self.back_to_members()


class MemberRoleView(_MemberActionView):
    success_message = "Role changed."

    @sudo_post()
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return super().post(request, *args, **kwargs)

    def act(self) -> None:
        form = RoleForm(self.request.POST)
        if not form.is_valid():
            raise ServiceError("Choose one of the roles.", field="role")
        services.membership_change_role(
            tenant=self.tenant,
            membership_id=cast(UUID, self.kwargs["membership_id"]),
            role=form.cleaned_data["role"],
            actor=self.membership,
            ip_address=self.client_ip,
        )


class MemberRemoveView(_MemberActionView):
    success_message = "Member removed."

    def act(self) -> None:
        services.membership_remove(
            tenant=self.tenant,
            membership_id=cast(UUID, self.kwargs["membership_id"]),
            actor=self.membership,
            ip_address=self.client_ip,
        )


class InvitationRevokeView(_MemberActionView):
    success_message = "Invitation revoked: its link no longer works."

    def act(self) -> None:
        services.invitation_revoke(
            tenant=self.tenant,
            invitation_id=cast(UUID, self.kwargs["invitation_id"]),
            actor=self.membership,
            ip_address=self.client_ip,
        )


class InvitationAcceptView(View):
    """``/invitations/<token>/``: the link in the mail. The token is the credential, so no tenant in the URL."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            self.invitation = services.invitation_by_token(token=kwargs["token"])
        except NotFound as error:
            request.session.pop(PENDING_INVITATION_SESSION_KEY, None)
            return render(request, "tenants/invitation_invalid.html", {"message": error.message}, status=404)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        here = request.get_full_path()
        if not request.user.is_authenticated:
            # Sign-up reads this to skip creating a personal organization for the invited user.
            request.session[PENDING_INVITATION_SESSION_KEY] = token
        context = {
            "invitation": self.invitation,
            "login_url": f"{reverse('account_login')}?{urlencode({'next': here})}",
            "signup_url": f"{reverse('account_signup')}?{urlencode({'next': here})}",
        }
        return render(request, "tenants/invitation_accept.html", context)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?{urlencode({'next': request.get_full_path()})}")
        try:
            services.invitation_accept(token=token, user=cast("User", request.user), ip_address=client_ip(request))
        except NotFound as error:
            return render(request, "tenants/invitation_invalid.html", {"message": error.message}, status=404)
        except Forbidden as error:
            return render(request, "tenants/invitation_invalid.html", {"message": error.message}, status=403)
        request.session.pop(PENDING_INVITATION_SESSION_KEY, None)
        messages.success(request, f"Welcome to {self.invitation.tenant.name}.")
        return redirect("dashboard:overview", tenant_slug=self.invitation.tenant.slug)
