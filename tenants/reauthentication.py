"""Sudo mode: actions that hand out access or destroy data need a recent password (or second factor).

A sign-in or a re-authentication within ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` seconds lets the action
through; otherwise allauth asks for the password again and then replays the suspended POST.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from allauth.account import app_settings as allauth_settings
from allauth.account.authentication import get_authentication_records
from allauth.account.decorators import reauthentication_required
from django.http import HttpRequest
from django.utils.decorators import method_decorator


def authenticated_recently(request: HttpRequest) -> bool:
    """Whether this session signed in, or confirmed its password or second factor, within the timeout."""
    records = get_authentication_records(request, request.user)
    latest = max((float(record.get("at", 0)) for record in records), default=0.0)
    return time.time() - latest < allauth_settings.REAUTHENTICATION_TIMEOUT


def sudo_post(when: Callable[[HttpRequest], bool] | None = None) -> Callable[[Any], Any]:
    """For a dashboard view class's ``post``: re-authentication first unless the last one is recent
    (only for the requests ``when`` picks, if given)."""

    def enabled(request: HttpRequest) -> bool:
        return (when is None or when(request)) and not authenticated_recently(request)

    return method_decorator(reauthentication_required(enabled=enabled))
