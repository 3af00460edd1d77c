"""The operators' door: the admin signs in through allauth's login (its lockout, its second step) and opens
only to staff who passed a second factor in this session."""

from __future__ import annotations

from collections.abc import Callable

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

SETUP_MESSAGE = "Operators need two-factor authentication: set up an authenticator app to open the admin."
CONFIRM_MESSAGE = "Enter a code from your authenticator app to open the admin."


def passed_second_factor(request: HttpRequest) -> bool:
    """Whether this session's sign-in (or a later confirmation) included a second factor."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


def _with_next(url_name: str, next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(url_name)}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")


class AdminGuardMiddleware:
    """``/admin/login/`` sends to allauth's login (rate-limited, with its second step); any other admin page
    needs a staff user with an authenticator who passed it in this session: without an authenticator, the
    setup page; with one not yet used in this session, a code first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        admin_root = reverse("admin:index")
        if not request.path.startswith(admin_root):
            return self.get_response(request)
        if request.path == reverse("admin:login"):
            return self.login(request, admin_root)
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return self.get_response(request)  # the admin itself sends them to its login
        if not is_mfa_enabled(user):
            messages.warning(request, SETUP_MESSAGE)
            return _with_next("mfa_activate_totp", request.get_full_path())
        if not passed_second_factor(request):
            messages.info(request, CONFIRM_MESSAGE)
            return _with_next("mfa_reauthenticate", request.get_full_path())
        return self.get_response(request)

    @staticmethod
    def login(request: HttpRequest, admin_root: str) -> HttpResponse:
        """The admin's own password form is never served: it would bypass the lockout and the second step."""
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = admin_root
        if not request.user.is_authenticated:
            return _with_next("account_login", next_url)
        if not request.user.is_staff:
            raise PermissionDenied("This account has no access to the admin.")
        return HttpResponseRedirect(next_url)
