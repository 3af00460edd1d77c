"""Browsers ask for /favicon.ico on every site: it leads to the icon that every page links."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles import finders
from django.test import Client


def test_favicon_ico_redirects_to_the_static_icon(db: None, client: Client) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"
    icon = finders.find("favicon.svg")  # what the static files server (WhiteNoise, runserver) answers with
    assert icon is not None and "<svg" in Path(icon).read_text(encoding="utf-8")


def test_every_page_links_the_icon(db: None, client: Client) -> None:
    page = client.get("/accounts/login/").content.decode()

    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
