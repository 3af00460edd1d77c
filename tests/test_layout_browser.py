"""The dashboard's layout in a real browser, on a laptop (1280 px) and a phone (390 px): a long email and a
long organization name fit beside each other, the navigation folds into a "Menu" on the phone, and no page
scrolls sideways.

Playwright drives Debian's Chromium against ``live_server`` as in ``tests/test_browser_journey.py``: without
Chromium at ``/usr/bin/chromium`` the tests skip, saying so; with ``TUNEBASE_REQUIRE_BROWSER=1`` (CI) they fail.
Each page's screenshot goes to ``var/e2e/layout-<width>-<page>.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tenants.db import system_context
from tenants.models import Membership, Role, Tenant
from tests.conftest import CHROMIUM_ARGS, SCREENSHOTS
from tests.factories import ProjectFactory, UserFactory

LONG_EMAIL = "alexandra.konstantinopoulou-papadimitriou@a-rather-long-company-name.example"
LONG_ORGANIZATION = "Konstantinopoulou Analytics International Holdings"
PHONE, LAPTOP = 390, 1280


@pytest.fixture
def owner_pages(transactional_db: None) -> tuple[str, dict[str, str]]:
    """A signed-in owner with a long email, in a long-named organization with a project: their session
    cookie and the pages to look at."""
    with system_context():
        user = UserFactory(username="alexandra", email=LONG_EMAIL)
        tenant = Tenant.objects.create(name=LONG_ORGANIZATION, slug="konstantinopoulou")
        Membership.all_tenants.create(tenant=tenant, user=user, role=Role.OWNER)
        project = ProjectFactory(tenant=tenant, name="Support intents for every language we answer in")
    client = Client()
    client.force_login(user)
    base = f"/t/{tenant.slug}"
    pages = {
        "overview": f"{base}/",
        "projects": f"{base}/projects/",
        "project": f"{base}/projects/{project.pk}/",
        "members": f"{base}/members/",
        "billing": f"{base}/billing/",
        "webhooks": f"{base}/webhooks/",
    }
    return client.cookies[settings.SESSION_COOKIE_NAME].value, pages


@pytest.fixture
def browser(chromium: Path, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # see tests/test_browser_journey.py
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield browser, live_server.url
        finally:
            browser.close()
            connection.close()


def open_page(browser: Any, base: str, session: str, width: int) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(20_000)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base}])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(f"{m.text} ({m.location.get('url')})"))
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    return page, errors


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.locator(selector).bounding_box()
    assert found is not None, f"{selector} is not shown"
    return dict(found)


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("width", [LAPTOP, PHONE])
def test_no_page_scrolls_sideways_and_the_account_menu_never_covers_the_switcher(
    browser: tuple[Any, str], owner_pages: tuple[str, dict[str, str]], width: int
) -> None:
    chromium, base = browser
    session, pages = owner_pages
    page, errors = open_page(chromium, base, session, width)

    for name, path in pages.items():
        page.goto(base + path)
        page.screenshot(path=str(SCREENSHOTS / f"layout-{width}-{name}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways"
        if width == PHONE:
            page.click("#nav-menu > summary")  # the account menu lives in the phone's menu
        switcher, account = box(page, "#tenant-switcher > summary"), box(page, "#account-menu > summary")
        assert not overlap(switcher, account), name
        assert account["x"] + account["width"] <= width and switcher["x"] + switcher["width"] <= width, name
        if width == LAPTOP:  # one row: the switcher on the left, the account menu on the right
            assert abs(switcher["y"] - account["y"]) < 4, name
            assert account["x"] > switcher["x"] + switcher["width"], name
    # The email is cut short where it shows, and whole in its title.
    assert page.locator("#account-menu > summary").get_attribute("title") == LONG_EMAIL
    assert not errors, errors


def test_on_a_phone_the_navigation_folds_into_a_menu_that_opens_without_javascript(
    browser: tuple[Any, str], owner_pages: tuple[str, dict[str, str]]
) -> None:
    chromium, base = browser
    session, pages = owner_pages
    page, errors = open_page(chromium, base, session, PHONE)
    page.goto(base + pages["project"])

    members = page.locator(".tenant-nav >> text=Members")
    assert not members.is_visible()
    assert page.locator("#nav-menu > summary").is_visible()
    page.click("#nav-menu > summary")
    assert members.is_visible() and page.locator(".nav-end >> text=Docs").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    page.screenshot(path=str(SCREENSHOTS / f"layout-{PHONE}-menu-open.png"), full_page=True)
    with page.expect_navigation():
        members.click()
    assert page.url.endswith(pages["members"])
    assert not errors, errors


def test_on_a_laptop_the_navigation_lies_open_with_a_docs_link(
    browser: tuple[Any, str], owner_pages: tuple[str, dict[str, str]]
) -> None:
    chromium, base = browser
    session, pages = owner_pages
    page, errors = open_page(chromium, base, session, LAPTOP)
    page.goto(base + pages["project"])

    assert not page.locator("#nav-menu > summary").is_visible()
    assert page.locator(".tenant-nav >> text=Members").is_visible()
    docs = page.locator(".nav-end >> text=Docs")
    assert docs.is_visible() and docs.get_attribute("href") == "/api/docs/"
    # The project's page says where it is: organization, Projects, the project.
    crumbs = page.locator("main nav.breadcrumbs li").all_inner_texts()
    assert crumbs == [LONG_ORGANIZATION, "Projects", "Support intents for every language we answer in"]
    assert not errors, errors
