"""A customer's first day, in a real browser: sign up, upload data, train, try, call the API, run a batch,
watch a monitor, invite a viewer; then an operator's look at the admin.

Playwright (sync API) drives Debian's Chromium against ``live_server`` (this process's Django, in a thread)
and a real Celery worker on the tiny BERT. Each step saves a screenshot under ``var/e2e/<step>.png``; any
browser console error or uncaught page error (a Content-Security-Policy violation is one) fails the test,
save for the HTTP error statuses a step expects (Chromium logs each as a console error).

Without Chromium at ``/usr/bin/chromium`` the test skips, saying so; with ``TUNEBASE_REQUIRE_BROWSER=1``
(CI, ``.ci/run``) it fails instead.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection

from inference.models import Alert, Feedback
from projects.models import Project
from tenants.db import system_context
from tenants.models import Membership, Role, Tenant
from tests.conftest import CHROMIUM_ARGS, SCREENSHOTS, give_authenticator, totp_code
from tests.factories import PASSWORD, toy_csv
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("own_cache", "plans")]


OWNER_EMAIL = "ada@example.com"
VIEWER_EMAIL = "grace@example.com"
OPERATOR_EMAIL = "ops@tunebase.example"
ORGANIZATION = "Analytical Engines"
# The text customers send: it must never reach an operator's screen.
CUSTOMER_TEXT = "visa card pin plastic card visa ending 4242"
TIMEOUT_MS = 20_000
# How many pixels of the run chart's canvas are the loss line's blue (Chart.js's first colour).
LOSS_LINE_PIXELS = """() => {
    const canvas = document.getElementById("run-chart");
    const rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < rgba.length; i += 4) if (rgba[i] < 90 && rgba[i + 2] > 200 && rgba[i + 3] > 200) n++;
    return n;
}"""


@dataclass
class Journey:
    """The browser, the server's address, the screenshots taken and the console errors seen."""

    browser: Any
    base: str
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def open(self) -> Any:
        """A new browser context (its own cookies: another person) and its page, watched for errors."""
        context = self.browser.new_context(accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self._error(f"page error: {error}"))
        return page

    def _console(self, message: Any) -> None:
        url = message.location.get("url", "")
        # No page links an icon, so Chromium asks for /favicon.ico on its own, and gets a 404 (not ours to fail).
        if message.type == "error" and not url.endswith("/favicon.ico"):
            self._error(f"console: {message.text} ({url})")

    def _error(self, text: str) -> None:
        if not any(pattern.search(text) for pattern in self.allowed):
            self.errors.append(text)

    @contextmanager
    def expecting_http(self, *statuses: int) -> Iterator[None]:
        """Within this block, the console errors Chromium logs for responses with these statuses are expected."""
        patterns = [
            re.compile(rf"Failed to load resource: the server responded with a status of {s}\b") for s in statuses
        ]
        self.allowed.extend(patterns)
        try:
            yield
        finally:
            for pattern in patterns:
                self.allowed.remove(pattern)

    def shot(self, page: Any, step: str) -> None:
        """A screenshot of the step; fails on any console error so far, naming the step."""
        page.screenshot(path=str(SCREENSHOTS / f"{step}.png"), full_page=True)
        assert not self.errors, f"browser errors by step {step}: {self.errors}"

    def url(self, path: str) -> str:
        return self.base + path


def follow(page: Any, selector: str) -> None:
    """Clicks what leads to another page, and waits for that page's scripts to have run."""
    with page.expect_navigation():
        page.click(selector)


def submit(page: Any, form: str = "main form") -> None:
    follow(page, f"{form} >> [type=submit] >> nth=0")


def confirmation_path() -> str:
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return urlparse(match.group(0)).path


def upload_file(page: Any, selector: str, name: str, data: bytes) -> None:
    page.set_input_files(selector, {"name": name, "mimeType": "text/csv", "buffer": data})


# --- 1. sign up ------------------------------------------------------------------------------------------


def sign_up(journey: Journey, page: Any, email: str, organization: str, start: str = "/accounts/signup/") -> None:
    """Fills allauth's sign-up form, then confirms the address through the link mailed."""
    page.goto(journey.url(start))
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    if organization:
        page.fill("input[name=organization]", organization)
    submit(page)
    assert mail.outbox and mail.outbox[-1].to == [email]
    page.goto(journey.url(confirmation_path()))
    submit(page)


def step_sign_up(journey: Journey, page: Any) -> Tenant:
    page.goto(journey.url("/accounts/signup/"))
    journey.shot(page, "01-signup-form")
    sign_up(journey, page, OWNER_EMAIL, ORGANIZATION)
    tenant = Tenant.objects.get(name=ORGANIZATION)
    assert urlparse(page.url).path == f"/t/{tenant.slug}/"
    assert ORGANIZATION in page.inner_text("body")
    journey.shot(page, "01-signed-up")
    return tenant


# --- 2. a project and its data -----------------------------------------------------------------------------


def step_project_and_data(journey: Journey, page: Any, tenant: Tenant) -> Project:
    follow(page, "nav >> text=Projects")
    page.fill("input[name=name]", "Support intents")
    # Every answer under 0.99 goes to the review queue: the operator's step looks for those texts.
    page.fill("input[name=confidence_threshold]", "0.99")
    page.check("input[name=review_low_confidence]")
    submit(page, "#new-project form")
    project = Project.objects.for_tenant(tenant).get(name="Support intents")
    assert urlparse(page.url).path == f"/t/{tenant.slug}/projects/{project.pk}/"
    assert "1 of 6 steps done" in page.inner_text("#onboarding")  # the first steps, the project ticked off
    journey.shot(page, "02-project")

    follow(page, "text=Datasets →")
    with journey.expecting_http(400):
        upload_file(page, "#file-input", "bad.csv", b"text\nhello there\nsecond line\n")
        page.wait_for_selector("#preview-error:not([hidden])")
        error = page.inner_text("#preview-error")
        assert "column" in error.lower(), error
        # The preview runs the upload's own checks: while its error stands, there is nothing to upload.
        page.wait_for_selector("#upload-button[disabled]")
        journey.shot(page, "02-bad-csv-preview")

    upload_file(page, "#file-input", "toy.csv", toy_csv(200))
    page.wait_for_selector("#mapping:not([hidden])")
    page.wait_for_selector("#upload-button:not([disabled])")
    assert page.input_value("#text-column") == "text" and page.input_value("#label-column") == "label"
    journey.shot(page, "02-good-csv-preview")
    follow(page, "#upload-button")
    page.wait_for_selector("text=Ready")
    assert page.locator("#train-button").count() == 1  # a ready dataset leads on to training
    journey.shot(page, "02-dataset-ready")
    return project


# --- 3. train, watch, read the evaluation -------------------------------------------------------------------


def step_train(journey: Journey, page: Any, project: Project) -> None:
    follow(page, "#train-button")  # the dataset page's Train button: the form has that dataset chosen
    assert urlparse(page.url).path == f"/t/{project.tenant.slug}/projects/{project.pk}/runs/"
    assert "minute" in page.inner_text("#training-estimate") or "second" in page.inner_text("#training-estimate")
    page.click("summary:has-text('Settings')")
    page.fill("input[name=epochs]", "3")
    page.fill("input[name=learning_rate]", "0.003")
    page.fill("input[name=batch_size]", "16")
    journey.shot(page, "03-start-training")
    submit(page, "main article form")
    assert "/runs/" in page.url
    assert page.locator("button:text-is('Cancel training')").count() == 1
    journey.shot(page, "03-run-queued")
    run_url = page.url
    # The page polls (htmx) every 2 s: the run goes queued → running → succeeded with no reload of ours.
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
    page.wait_for_selector("#run-live .status-succeeded", timeout=180_000)
    assert navigations == [], navigations
    assert page.url == run_url
    live = page.inner_text("#run-live")
    assert re.search(r"Made model v1: validation macro-F1 \d\.\d{3}, accuracy \d\.\d{3}", live), live
    assert page.locator("#run-live table tbody tr").count() >= 1  # the epochs' history
    assert page.locator("button:text-is('Cancel training')").count() == 0  # gone with the run's end
    assert re.search(r"kept epoch \d", page.inner_text("#run-outcome")), page.inner_text("#run-outcome")
    page.wait_for_timeout(1_200)  # the chart's redraw animates for a second: screenshot its end
    # The chart has drawn its lines through the live refreshes: pixels of the loss line's blue (Chart.js's first).
    blue = page.evaluate(LOSS_LINE_PIXELS)
    assert blue > 200, f"the run chart drew {blue} pixels of its loss line"
    journey.shot(page, "03-run-succeeded")
    follow(page, "#run-live >> text=model v1")
    journey.shot(page, "03-models")
    step_evaluation(journey, page)


def step_evaluation(journey: Journey, page: Any) -> None:
    """The version's evaluation: a sortable per-label table, the confusion heatmap, and the download."""
    follow(page, "main >> text=Evaluation of v1")
    assert page.locator("#per-class-table tbody tr").count() == 2  # card, refund
    assert page.locator("#confusion table").count() == 1
    heading = page.locator("#per-class-table th:has-text('F1')").first
    heading.click()
    assert heading.get_attribute("aria-sort") in {"ascending", "descending"}
    journey.shot(page, "03-evaluation")
    with page.expect_download() as download_info:
        page.click("text=Download model (.zip)")
    with zipfile.ZipFile(download_info.value.path()) as archive:
        names = {name.split("/", 1)[-1] for name in archive.namelist()}
    assert {"config.json", "model.safetensors", "README.md"} <= names, names


# --- 4. the try-it box -------------------------------------------------------------------------------------


def step_try(journey: Journey, page: Any, project: Project) -> str:
    page.goto(journey.url(f"/t/{project.tenant.slug}/projects/{project.pk}/"))
    page.fill("#try-text", CUSTOMER_TEXT)
    page.click("#try form [type=submit]")
    page.wait_for_selector("#try-result table")
    result = page.inner_text("#try-result")
    label = page.inner_text("#try-result strong")
    assert label in {"card", "refund"}, result
    assert "Model v1" in result
    journey.shot(page, "04-try-it")
    return label


# --- 5. an API key, and predict with it -------------------------------------------------------------------


def reauthenticate_if_asked(journey: Journey, page: Any, step: str) -> None:
    """Sudo mode: re-enters the password if the dashboard asks, and comes back to the suspended action.

    It asks right after sign-up too: the sign-in that the email-confirmation link performs leaves allauth no
    record of an authentication (``tenants.reauthentication.authenticated_recently`` finds none), so the
    first sensitive action of a new customer needs the password again (found by this journey; reported).
    """
    if urlparse(page.url).path != "/accounts/reauthenticate/" or page.locator("input[name=password]").count() == 0:
        return
    journey.shot(page, step)
    page.fill("input[name=password]", PASSWORD)
    submit(page)


def step_api_key(journey: Journey, page: Any, project: Project, label: str) -> str:
    tenant = project.tenant
    page.goto(journey.url(f"/t/{tenant.slug}/api-keys/"))
    follow(page, "main >> text=New API key")
    page.fill("input[name=name]", "Zendesk bot")
    assert page.is_checked("input[name=scopes][value=predict]")
    journey.shot(page, "05-new-key")
    submit(page)
    reauthenticate_if_asked(journey, page, "05-reauthenticate")
    secret = page.input_value("#api-key-secret")
    assert secret and "Zendesk bot" in page.inner_text("#new-key")
    journey.shot(page, "05-key-created")

    response = requests.post(
        journey.url(f"/api/v1/projects/{project.pk}/predict/"),
        headers={"Authorization": f"Api-Key {secret}"},
        json={"texts": [CUSTOMER_TEXT], "top_k": 2},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    prediction = response.json()["predictions"][0]
    assert prediction["label"] == label  # the API answers as the try-it box did

    # With that call every first step is done: the project's page drops its checklist.
    page.goto(journey.url(f"/t/{tenant.slug}/projects/{project.pk}/"))
    assert page.locator("#onboarding").count() == 0
    journey.shot(page, "05-first-steps-done")
    return str(secret)


# --- 6. a batch from the dashboard -------------------------------------------------------------------------


def step_batch(journey: Journey, page: Any, project: Project) -> None:
    page.goto(journey.url(f"/t/{project.tenant.slug}/projects/{project.pk}/batches/"))
    batch = b"ticket,text\n1,refund money back\n2,visa card pin\n3,return money\n"
    upload_file(page, "input[name=file]", "tickets.csv", batch)
    submit(page, "main article form")
    journey.shot(page, "06-batch-submitted")
    page.wait_for_selector("#batch-rows >> text=Download results", timeout=60_000)
    journey.shot(page, "06-batch-done")
    with page.expect_download() as download_info:
        page.click("#batch-rows >> text=Download results")
    download = download_info.value
    results = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert [r["ticket"] for r in results] == ["1", "2", "3"]
    assert all(r["predicted_label"] in {"card", "refund"} and float(r["score"]) > 0 for r in results), results


# --- 7. a monitor, events through the API, an alert --------------------------------------------------------


def step_monitor(journey: Journey, page: Any, project: Project, secret: str, label: str) -> None:
    tenant = project.tenant
    # The organization already sends its events to its own endpoint (its address resolves only on its side).
    WebhookEndpoint.all_tenants.create(tenant=tenant, url="https://hooks.analytical.example/tunebase", events=["*"])
    page.goto(journey.url(f"/t/{tenant.slug}/projects/{project.pk}/"))
    page.fill("#monitors input[name=name]", "App store reviews")
    submit(page, "#monitors form")
    assert "App store reviews" in page.inner_text("h1")
    page.select_option("#rules select[name=label]", label)
    page.fill("#rules input[name=threshold_percent]", "10")
    page.fill("#rules input[name=min_events]", "3")
    journey.shot(page, "07-monitor")
    submit(page, "#rules form")
    assert "above 10 % of at least 3 events" in page.inner_text("#rules")
    monitor_path = urlparse(page.url).path
    monitor_id = monitor_path.rstrip("/").rsplit("/", 1)[-1]

    response = requests.post(
        journey.url(f"/api/v1/monitors/{monitor_id}/events/"),
        headers={"Authorization": f"Api-Key {secret}"},
        json={"events": [{"text": CUSTOMER_TEXT, "source": "app-store"} for _ in range(4)]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["alerts"], response.json()
    page.reload()
    alerts = page.inner_text("#alerts")
    assert label in alerts and "open" in alerts, alerts
    assert "firing" in page.inner_text("#rules")
    journey.shot(page, "07-alert")
    assert WebhookDelivery.objects.for_tenant(tenant).filter(event_type="monitor.alert").exists()

    # Under the project's 0.99 threshold, those texts wait for review; the overview counts the month.
    page.goto(journey.url(f"/t/{tenant.slug}/projects/{project.pk}/review/"))
    assert page.locator("#review-rows tbody tr").count() >= 1
    journey.shot(page, "07-review")
    page.goto(journey.url(f"/t/{tenant.slug}/"))
    assert page.locator("#overview-chart").count() == 1
    assert int(page.inner_text("#predictions-served h2").replace(",", "")) >= 1  # the API call and the monitor
    journey.shot(page, "07-overview")


# --- 8. a viewer, invited, in a second browser context ------------------------------------------------------


def step_viewer(journey: Journey, page: Any, project: Project) -> None:
    tenant = project.tenant
    page.goto(journey.url(f"/t/{tenant.slug}/members/"))
    page.fill("#invite input[name=email]", VIEWER_EMAIL)
    page.select_option("#invite select[name=role]", Role.VIEWER)
    submit(page, "#invite form")
    link = urlparse(page.input_value("#invitation-link-value")).path
    journey.shot(page, "08-invited")

    viewer = journey.open()
    viewer.goto(journey.url(link))
    journey.shot(viewer, "08-invitation")
    follow(viewer, "main a[role=button]:text-is('Sign up')")
    sign_up(journey, viewer, VIEWER_EMAIL, "", start=urlparse(viewer.url).path + "?" + urlparse(viewer.url).query)
    assert urlparse(viewer.url).path == link, viewer.url
    submit(viewer)
    assert Membership.objects.for_tenant(tenant).get(user__email=VIEWER_EMAIL).role == Role.VIEWER
    journey.shot(viewer, "08-viewer-joined")

    nav = viewer.inner_text("nav")
    assert "API keys" not in nav
    viewer.goto(journey.url(f"/t/{tenant.slug}/projects/{project.pk}/runs/"))
    assert viewer.locator("text=Start training").count() == 0
    assert "Start a training run" not in viewer.inner_text("main")
    journey.shot(viewer, "08-viewer-runs")
    with journey.expecting_http(403):
        response = viewer.goto(journey.url(f"/t/{tenant.slug}/api-keys/new/"))
        assert response is not None and response.status == 403
        journey.shot(viewer, "08-viewer-no-keys")
    viewer.context.close()


# --- 9. an operator in the admin ----------------------------------------------------------------------------


def make_operator() -> Any:
    from allauth.account.models import EmailAddress

    user = get_user_model().objects.create_user(
        username="ops", email=OPERATOR_EMAIL, password=PASSWORD, is_staff=True, is_superuser=True
    )
    EmailAddress.objects.create(user=user, email=OPERATOR_EMAIL, verified=True, primary=True)
    give_authenticator(user)
    return user


def step_operator(journey: Journey) -> None:
    operator = make_operator()
    page = journey.open()
    page.goto(journey.url("/admin/"))
    assert "/login/" in page.url
    page.fill("input[name=login]", OPERATOR_EMAIL)
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    journey.shot(page, "09-second-factor")
    page.fill("input[name=code]", totp_code(operator))
    submit(page)
    page.goto(journey.url("/admin/"))
    assert urlparse(page.url).path == "/admin/", page.url
    journey.shot(page, "09-admin")

    delivery = WebhookDelivery.all_tenants.filter(event_type="monitor.alert").first()
    feedback = Feedback.all_tenants.first()
    alert = Alert.all_tenants.first()
    assert delivery is not None and feedback is not None and alert is not None
    for name, path in [
        ("09-deliveries", "/admin/webhooks/webhookdelivery/"),
        ("09-delivery", f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/"),
        ("09-feedback-list", "/admin/inference/feedback/"),
        ("09-feedback", f"/admin/inference/feedback/{feedback.pk}/change/"),
        ("09-alerts", "/admin/inference/alert/"),
        ("09-alert", f"/admin/inference/alert/{alert.pk}/change/"),
    ]:
        response = page.goto(journey.url(path))
        assert response is not None and response.status == 200, path
        html = page.content()
        assert "4242" not in html and "plastic" not in html, path
        journey.shot(page, name)
    page.context.close()


# --- the journey ---------------------------------------------------------------------------------------------


@pytest.fixture
def journey(chromium: Path, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Journey]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses database calls from a thread
    # with one running unless told that this test process knows what it is doing.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        # From here this thread has an event loop running, and Django gives it another database connection
        # than the set-up's: the test's own reads span tenants as an operator's do, so on PostgreSQL this one
        # needs row-level security's bypass too (tests/conftest.py sets it on the set-up's).
        try:
            with system_context():
                yield Journey(browser=browser, base=live_server.url)
        finally:
            browser.close()
            connection.close()


def test_a_customers_first_day_in_the_browser(chromium, transactional_db, settings, celery_worker_process, journey):
    settings.DEFAULT_BASE_MODEL = "tiny"  # the dashboard's runs train the tiny BERT the worker knows
    page = journey.open()

    tenant = step_sign_up(journey, page)
    project = step_project_and_data(journey, page, tenant)
    step_train(journey, page, project)
    label = step_try(journey, page, project)
    secret = step_api_key(journey, page, project, label)
    step_batch(journey, page, project)
    step_monitor(journey, page, project, secret, label)
    step_viewer(journey, page, project)
    step_operator(journey)

    assert not journey.errors, journey.errors
