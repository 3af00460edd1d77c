"""Content-Security-Policy and Permissions-Policy on every page and API answer; templates that the
policy lets run (no inline scripts or handlers); the API docs page still working under it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import dashboard_url, make_api_key, ready_dataset

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
STYLE_TAG = re.compile(r"<style\b([^>]*)>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["']""", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*["']""", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""=\s*["']\s*javascript:""", re.IGNORECASE)
TEMPLATE_NONCE = 'nonce="{{ request.csp_nonce }}"'


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def nonce_of(response) -> str:
    [nonce] = [v[len("'nonce-") : -1] for v in policy(response)["script-src"] if v.startswith("'nonce-")]
    return nonce


# --- the headers -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_dashboard_page_gets_a_strict_policy(client, tenant, owner):
    client.force_login(owner.user)

    response = client.get(dashboard_url("overview", tenant))

    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert set(directives["form-action"]) == {"'self'", "https://checkout.stripe.com", "https://billing.stripe.com"}
    assert set(directives["img-src"]) == {"'self'", "data:"}
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_a_dashboard_page_denies_powerful_browser_features(client, tenant, owner):
    client.force_login(owner.user)

    header = client.get(dashboard_url("overview", tenant))["Permissions-Policy"]

    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in header


@pytest.mark.django_db
def test_api_answers_carry_both_headers(api_client, tenant):
    _, secret = make_api_key(tenant)

    response = api_client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Api-Key {secret}")

    assert response.status_code == 200
    assert policy(response)["default-src"] == ["'self'"]
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_the_login_page_and_an_error_answer_carry_the_policy(client):
    assert policy(client.get("/accounts/login/"))["frame-ancestors"] == ["'none'"]
    assert "Content-Security-Policy" in client.get("/no/such/page/")


# --- templates the policy lets run -----------------------------------------------------------------------


def template_findings(text: str) -> list[str]:
    found = []
    for attributes in SCRIPT_TAG.findall(text):
        if "src=" not in attributes and "application/json" not in attributes and TEMPLATE_NONCE not in attributes:
            found.append("an inline <script>")
    found += ["an inline <style>" for attributes in STYLE_TAG.findall(text) if TEMPLATE_NONCE not in attributes]
    found += [f"an inline handler ({m.strip()})" for m in INLINE_HANDLER.findall(text)]
    found += [f"a style attribute ({m.strip()})" for m in STYLE_ATTRIBUTE.findall(text)]
    found += ["a javascript: URL" for _ in JAVASCRIPT_URL.findall(text)]
    return found


def test_the_scan_finds_what_the_policy_blocks():
    sample = """<script>alert(1)</script><form onsubmit="return confirm('x')"><div style="height: 1em">
    <a href="javascript:go()"><style>p {}</style>"""

    assert len(template_findings(sample)) == 5
    assert template_findings('<script src="/static/js/a.js" defer></script>') == []
    assert template_findings(f"<script {TEMPLATE_NONCE}>go()</script>") == []


def test_no_template_has_inline_scripts_handlers_or_styles():
    findings = {
        str(path.relative_to(ROOT)): template_findings(path.read_text(encoding="utf-8"))
        for path in sorted(TEMPLATES.rglob("*.html"))
    }

    assert {path: found for path, found in findings.items() if found} == {}


# --- rendered pages --------------------------------------------------------------------------------------


def assert_runs_under_its_policy(response) -> None:
    """Every script and style of the page is same-origin or carries the nonce the header allows."""
    html = response.content.decode()
    nonces = [v for v in policy(response)["script-src"] if v.startswith("'nonce-")]
    for attributes in SCRIPT_TAG.findall(html):
        if "application/json" in attributes:
            continue
        src = re.search(r'src="([^"]+)"', attributes)
        if src:
            assert src.group(1).startswith("/"), f"a script from elsewhere: {src.group(1)}"
        else:
            assert nonces and f'nonce="{nonces[0][7:-1]}"' in attributes, "an inline script without the nonce"
    assert not INLINE_HANDLER.search(html)
    assert not STYLE_ATTRIBUTE.search(html)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["overview", "member-list", "api-key-list", "dataset-detail", "webhook-list"])
def test_dashboard_pages_run_under_the_policy(client, tenant, owner, project, page):
    dataset = ready_dataset(project)
    arguments = {"dataset-detail": {"project_id": project.pk, "dataset_id": dataset.pk}}.get(page, {})
    client.force_login(owner.user)

    response = client.get(dashboard_url(page, tenant, **arguments))

    assert response.status_code == 200
    assert_runs_under_its_policy(response)


@pytest.mark.django_db
def test_delete_and_revoke_still_ask_for_confirmation(client, tenant, owner, project):
    make_api_key(tenant, name="CI")
    client.force_login(owner.user)

    html = client.get(dashboard_url("api-key-list", tenant)).content.decode()

    assert 'data-confirm="Revoke CI? Integrations using it stop working at once."' in html
    assert "/static/js/confirm.js" in html
    assert (ROOT / "static" / "js" / "confirm.js").is_file()


@pytest.mark.django_db
def test_the_api_docs_page_runs_its_script_under_the_policy():
    client = Client()

    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    nonce = nonce_of(response)
    assert f'<script nonce="{nonce}">' in html
    assert "SwaggerUIBundle(" in html
    assert f'<style nonce="{nonce}">' in html
    assert f"'nonce-{nonce}'" in policy(response)["style-src"]
    assert_runs_under_its_policy(response)
    assert nonce != nonce_of(client.get("/api/docs/")), "a nonce is used once"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/admin/login/"])
def test_sign_in_pages_run_under_the_policy(client, path):
    response = client.get(path, follow=True)  # /admin/login/ is allauth's login

    assert response.status_code == 200
    assert_runs_under_its_policy(response)
