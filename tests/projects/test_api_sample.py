"""The project page's code sample fits the project's use case: a text its users would send, and what its
integration reads from the answer. Each sample is runnable as it stands (valid Python, valid JSON)."""

from __future__ import annotations

import ast
import html
import json
import re

import pytest

from inference.models import Monitor
from tenants.models import Role
from tests.factories import ProjectFactory, dashboard_url

SUPPORT_TEXT = "My card has not arrived yet"


def sample(client, tenant, member_of, **project_fields) -> tuple[list[str], str]:
    """The sample's code blocks (unescaped) and the whole API article, for a new project of those settings."""
    project = ProjectFactory(tenant=tenant, name="P", **project_fields)
    client.force_login(member_of(tenant, Role.VIEWER).user)
    page = client.get(dashboard_url("project-detail", tenant, project_id=project.pk)).content.decode()
    article = page[page.index('<article id="api"') : page.index("</article>", page.index('<article id="api"'))]
    return [html.unescape(code) for code in re.findall(r"<pre><code>(.*?)</code></pre>", article, re.S)], article


def python_blocks(blocks: list[str]) -> list[str]:
    return [block for block in blocks if not block.startswith("curl")]


def curl_body(blocks: list[str]) -> dict:
    (curl,) = [block for block in blocks if block.startswith("curl")]
    return json.loads(re.search(r"-d '(.*)'", curl).group(1))


def test_customer_service_sends_a_support_message_and_routes_by_needs_human(client, tenant, member_of):
    blocks, _ = sample(client, tenant, member_of, use_case="customer_service")

    (code,) = python_blocks(blocks)
    ast.parse(code)
    assert curl_body(blocks) == {"texts": [SUPPORT_TEXT], "top_k": 3}
    assert 'if prediction["needs_human"]:' in code and "route to an agent" in code
    assert 'prediction["label"]' in code


def test_recommendation_sends_an_interest_text_and_prints_the_labels_above_threshold(client, tenant, member_of):
    blocks, _ = sample(client, tenant, member_of, use_case="recommendation", multi_label=True)

    (code,) = python_blocks(blocks)
    ast.parse(code)
    body = curl_body(blocks)
    assert SUPPORT_TEXT not in code and body["texts"][0] != SUPPORT_TEXT
    assert "trail running" in body["texts"][0] and body["top_k"] == 5
    assert 'if label["above_threshold"]' in code and "needs_human" not in code


def test_sentiment_monitoring_sends_a_review_and_prints_label_and_score(client, tenant, member_of):
    blocks, article = sample(client, tenant, member_of, use_case="monitoring")

    (code,) = python_blocks(blocks)
    ast.parse(code)
    assert curl_body(blocks)["texts"] == ["The app keeps crashing since the last update, really disappointed"]
    assert SUPPORT_TEXT not in article
    assert 'print(prediction["label"], round(prediction["score"], 2))' in code and "needs_human" not in code
    # no monitor yet: where the events endpoint is, and that one must be created first
    assert "Create a monitor above" in article and "/api/v1/monitors/&lt;monitor id&gt;/events/" in article


def test_sentiment_monitoring_with_a_monitor_shows_its_events_endpoint(client, tenant, member_of):
    project = ProjectFactory(tenant=tenant, name="Reviews", use_case="monitoring")
    monitor = Monitor.all_tenants.create(tenant=tenant, project=project, name="App store")
    client.force_login(member_of(tenant, Role.VIEWER).user)
    page = client.get(dashboard_url("project-detail", tenant, project_id=project.pk)).content.decode()
    article = page[page.index('<article id="api"') :]
    blocks = [html.unescape(code) for code in re.findall(r"<pre><code>(.*?)</code></pre>", article, re.S)]

    events = [block for block in blocks if "/events/" in block]
    assert len(events) == 1
    ast.parse("import os\nimport requests\n" + events[0])
    assert f"http://testserver/api/v1/monitors/{monitor.pk}/events/" in events[0]
    assert '"events": [{"text": "The app keeps crashing' in events[0]
    assert 'for alert in answer["alerts"]' in events[0]


@pytest.mark.parametrize("use_case", ["customer_service", "recommendation", "monitoring"])
def test_a_multi_label_project_prints_the_labels_that_apply(client, tenant, member_of, use_case):
    blocks, _ = sample(client, tenant, member_of, use_case=use_case, multi_label=True)

    code = python_blocks(blocks)[0]
    ast.parse(code)
    assert 'if label["above_threshold"]' in code and 'prediction["label"]' not in code
