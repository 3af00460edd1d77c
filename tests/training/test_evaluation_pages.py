"""A version's evaluation page, two versions side by side, and the confirmation before deploying a version
that scores lower than the one being served."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.urls import reverse

from tenants.models import Role
from tests.factories import model_version
from training.engine.evaluation import multi_label_report, single_label_report
from training.models import ModelVersion


def url(name, tenant, project, **kwargs):
    return reverse(f"dashboard:{name}", kwargs={"tenant_slug": tenant.slug, "project_id": project.pk, **kwargs})


def with_metrics(version: ModelVersion, metrics: dict) -> ModelVersion:
    ModelVersion.all_tenants.filter(pk=version.pk).update(metrics=metrics)
    version.refresh_from_db()
    return version


def report(labels: list[str], pairs: list[tuple[int, int, int]], texts: bool = True) -> dict:
    """A real evaluation report: ``pairs`` of (true, predicted, how many times)."""
    rows = [(t, p) for t, p, n in pairs for _ in range(n)]
    y_true, y_pred = [t for t, _ in rows], [p for _, p in rows]
    examples = [f"text {i} of {labels[t]} read as {labels[p]}" for i, (t, p) in enumerate(rows)]
    return single_label_report(y_true, y_pred, labels, examples if texts else None)


INTENTS = ["card_arrival", "card_lost", "refund"]
# card_arrival is mostly right; card_lost is read as card_arrival 4 times; refund is always right.
GOOD = report(INTENTS, [(0, 0, 9), (0, 1, 1), (1, 1, 6), (1, 0, 4), (2, 2, 10)])


# --- deploying a version that scores lower (found 8) -----------------------------------------------------


@pytest.fixture
def serving_and_lower(tenant, project):
    """v1 serving at macro-F1 0.80; v2, newer, at 0.70."""
    v1 = with_metrics(model_version(tenant, project, 1), {"macro_f1": 0.8})
    v2 = with_metrics(model_version(tenant, project, 2), {"macro_f1": 0.7})
    ModelVersion.all_tenants.filter(pk=v1.pk).update(is_active=True)
    return v1, v2


def serving(tenant, project) -> int:
    return ModelVersion.objects.for_tenant(tenant).get(project=project, is_active=True).version


def test_deploying_a_lower_scoring_version_asks_first_and_keeps_serving(
    client, tenant, project, member_of, serving_and_lower
):
    _, v2 = serving_and_lower
    client.force_login(member_of(tenant, Role.MEMBER).user)

    response = client.post(url("model-deploy", tenant, project, version_id=v2.pk))

    page = response.content.decode()
    assert response.status_code == 200
    assert serving(tenant, project) == 1
    assert "v2 scores lower than v1" in page
    assert "0.800" in page and "0.700" in page and "-0.100" in page
    assert 'name="confirm" value="yes"' in page and "Deploy v2 anyway" in page


def test_a_confirmed_deploy_of_a_lower_scoring_version_deploys_it(
    client, tenant, project, member_of, serving_and_lower
):
    _, v2 = serving_and_lower
    client.force_login(member_of(tenant, Role.MEMBER).user)

    response = client.post(url("model-deploy", tenant, project, version_id=v2.pk), {"confirm": "yes"})

    assert response["Location"] == url("model-list", tenant, project)
    assert serving(tenant, project) == 2


@pytest.mark.parametrize("score", [0.8, 0.9])
def test_a_version_scoring_the_same_or_higher_deploys_at_once(client, tenant, project, member_of, score):
    v1 = with_metrics(model_version(tenant, project, 1), {"macro_f1": 0.8})
    v2 = with_metrics(model_version(tenant, project, 2), {"macro_f1": score})
    ModelVersion.all_tenants.filter(pk=v1.pk).update(is_active=True)
    client.force_login(member_of(tenant, Role.MEMBER).user)

    response = client.post(url("model-deploy", tenant, project, version_id=v2.pk))

    assert response.status_code == 302
    assert serving(tenant, project) == 2


def test_the_first_deploy_needs_no_confirmation(client, tenant, project, member_of):
    v1 = with_metrics(model_version(tenant, project, 1), {"macro_f1": 0.1})
    client.force_login(member_of(tenant, Role.MEMBER).user)

    client.post(url("model-deploy", tenant, project, version_id=v1.pk))

    assert serving(tenant, project) == 1


def test_the_api_deploys_a_lower_scoring_version_without_asking(key_client, tenant, project, serving_and_lower):
    _, v2 = serving_and_lower

    response = key_client(tenant, scopes=["manage"]).post(f"/api/v1/models/{v2.pk}/deploy/")

    assert response.status_code == 200
    assert serving(tenant, project) == 2


def test_a_version_of_another_project_is_not_deployed_through_this_one(client, tenant, project, member_of):
    from tests.factories import ProjectFactory

    elsewhere = model_version(tenant, ProjectFactory(tenant=tenant, name="Other"), 1)
    client.force_login(member_of(tenant, Role.MEMBER).user)

    assert client.post(url("model-deploy", tenant, project, version_id=elsewhere.pk)).status_code == 404
    assert not ModelVersion.objects.for_tenant(tenant).filter(is_active=True).exists()


# --- the evaluation page ---------------------------------------------------------------------------------


def test_the_evaluation_page_shows_headline_per_class_heatmap_and_confused_pairs(client, tenant, project, member_of):
    version = with_metrics(model_version(tenant, project, 1), GOOD)
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(url("model-evaluation", tenant, project, version_id=version.pk)).content.decode()

    assert f"{GOOD['macro_f1']:.3f}" in page and f"{GOOD['accuracy']:.3f}" in page
    # the per-class table, sortable by its headings, with numbers to sort by
    assert 'class="striped sortable" id="per-class-table"' in page
    assert re.search(r'<th scope="col" data-sort="number">Recall</th>', page)
    assert '<td data-value="0.600000">0.600</td>' in page  # card_lost's recall: 6 of 10
    assert "js/sortable-table.js" in page
    # the heatmap: shades by share of the row, green on the diagonal, red off it
    assert 'class="heat-ok-5" title="refund → refund: 10">10</td>' in page
    assert 'class="heat-bad-2" title="card_lost → card_arrival: 4">4</td>' in page
    # the most confused pair first, with its example texts
    confused = page.index('id="most-confused"')
    assert page.index("card_lost</strong> answered as <strong>card_arrival</strong> · 4 times", confused)
    assert "text 16 of card_lost read as card_arrival" in page
    # the calibration part (templates/training/_calibration.html) has its place on the page
    assert 'id="calibration"' in page


def test_the_evaluation_page_has_no_inline_script_or_style(client, tenant, project, member_of):
    version = with_metrics(model_version(tenant, project, 1), GOOD)
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(url("model-evaluation", tenant, project, version_id=version.pk)).content.decode()

    assert " style=" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert not re.search(r"\son[a-z]+=", page)


def test_with_77_labels_the_heatmap_scrolls_and_only_the_top_pairs_are_listed(client, tenant, project, member_of):
    labels = [f"intent_{i:02d}" for i in range(77)]
    pairs = [(i, i, 5) for i in range(77)] + [(i, (i + 1) % 77, 1 + i % 3) for i in range(77)]
    version = with_metrics(model_version(tenant, project, 1), report(labels, pairs))
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(url("model-evaluation", tenant, project, version_id=version.pk)).content.decode()

    assert '<div class="heatmap-scroll"><table class="heatmap">' in page
    assert page.count('class="heatmap-col"') == 77
    assert page.count("<summary><strong>") == 10


def test_a_multi_label_version_shows_thresholds_and_no_confusion_matrix(client, tenant, project, member_of):
    truth = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.6], [0.1, 0.3]])
    version = with_metrics(model_version(tenant, project, 1), multi_label_report(truth, probs, [0.5, 0.4], ["a", "b"]))
    ModelVersion.all_tenants.filter(pk=version.pk).update(multi_label=True)
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(url("model-evaluation", tenant, project, version_id=version.pk)).content.decode()

    assert '<th scope="col" data-sort="number">Threshold</th>' in page and "0.40" in page
    assert 'class="heatmap"' not in page


def test_the_versions_page_links_each_version_to_its_evaluation_and_download(client, tenant, project, member_of):
    v1, v2 = model_version(tenant, project, 1), model_version(tenant, project, 2)
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(url("model-list", tenant, project)).content.decode()

    for v in (v1, v2):
        assert url("model-evaluation", tenant, project, version_id=v.pk) in page
        assert url("model-download", tenant, project, version_id=v.pk) in page
    assert url("model-compare", tenant, project) in page


# --- two versions side by side ---------------------------------------------------------------------------


@pytest.fixture
def three_versions(tenant, project):
    """v1 (GOOD), v2 serving (card_lost better, refund worse), v3 newest (the same as v1)."""
    v1 = with_metrics(model_version(tenant, project, 1), GOOD)
    v2 = with_metrics(
        model_version(tenant, project, 2),
        report(INTENTS, [(0, 0, 9), (0, 1, 1), (1, 1, 9), (1, 0, 1), (2, 2, 7), (2, 0, 3)]),
    )
    v3 = with_metrics(model_version(tenant, project, 3), GOOD)
    ModelVersion.all_tenants.filter(pk=v2.pk).update(is_active=True)
    return v1, v2, v3


def compare_rows(page: str) -> dict[str, str]:
    """Each label's row class in the per-label comparison."""
    return dict(
        (label, css) for css, label in re.findall(r'<tr class="(delta-\w+)">\s*<th scope="row">(\w+)</th>', page)
    )


def test_compare_defaults_to_the_serving_version_against_the_newest(client, tenant, project, member_of, three_versions):
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(url("model-compare", tenant, project)).content.decode()

    assert re.search(r'id="compare-a".*?<option value="[^"]+" selected>v2 \(serving\)', page, re.S)
    assert re.search(r'id="compare-b".*?<option value="[^"]+" selected>v3<', page, re.S)
    # v3 against v2: card_lost got worse (F1), refund better
    assert compare_rows(page) == {"card_arrival": "delta-same", "card_lost": "delta-worse", "refund": "delta-better"}
    assert "1 label better" in page and "1 worse" in page


def test_compare_two_chosen_versions_with_coloured_deltas(client, tenant, project, member_of, three_versions):
    v1, v2, _ = three_versions
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(url("model-compare", tenant, project), {"a": v1.pk, "b": v2.pk}).content.decode()

    assert compare_rows(page) == {"card_arrival": "delta-same", "card_lost": "delta-better", "refund": "delta-worse"}
    macro = v2.metrics["macro_f1"] - v1.metrics["macro_f1"]
    assert f'<td class="{"delta-better" if macro > 0 else "delta-worse"}">{macro:+.3f}</td>' in page


def test_compare_from_the_serving_versions_page_picks_another_version(
    client, tenant, project, member_of, three_versions
):
    _, v2, _ = three_versions
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(url("model-compare", tenant, project), {"b": v2.pk}).content.decode()

    assert re.search(r'id="compare-a".*?<option value="[^"]+" selected>v3<', page, re.S)
    assert re.search(r'id="compare-b".*?<option value="[^"]+" selected>v2 \(serving\)', page, re.S)


@pytest.mark.parametrize("wanted", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_compare_with_an_unknown_version_says_so(client, tenant, project, member_of, three_versions, wanted):
    client.force_login(member_of(tenant, Role.VIEWER).user)

    response = client.get(url("model-compare", tenant, project), {"a": wanted})

    assert response.status_code == 400
    assert f"“{wanted}” is not a model version of {project.name}." in response.content.decode()


def test_compare_does_not_show_another_tenants_version(
    client, tenant, other_tenant, project, member_of, three_versions
):
    from tests.factories import ProjectFactory

    theirs = with_metrics(model_version(other_tenant, ProjectFactory(tenant=other_tenant), 1), GOOD)
    client.force_login(member_of(tenant, Role.VIEWER).user)

    response = client.get(url("model-compare", tenant, project), {"a": theirs.pk})

    assert response.status_code == 400
    assert f"“{theirs.pk}” is not a model version of {project.name}." in response.content.decode()
    assert 'id="compare-table"' not in response.content.decode()


def test_compare_with_one_version_explains_it_needs_two(client, tenant, project, member_of):
    model_version(tenant, project, 1)
    client.force_login(member_of(tenant, Role.VIEWER).user)

    assert "Comparing needs two model versions" in client.get(url("model-compare", tenant, project)).content.decode()


# --- who may see them ------------------------------------------------------------------------------------

PAGES = ["model-evaluation", "model-compare"]


def _target(name, tenant, project, version):
    return url(name, tenant, project, **({"version_id": version.pk} if name != "model-compare" else {}))


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_log_in(client, tenant, project, name):
    version = model_version(tenant, project, 1)

    assert "/accounts/login/" in client.get(_target(name, tenant, project, version))["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_another_tenants_member_gets_404(client, tenant, other_tenant, project, member_of, name):
    version = model_version(tenant, project, 1)
    client.force_login(member_of(other_tenant, Role.OWNER).user)

    assert client.get(_target(name, tenant, project, version)).status_code == 404


def test_a_version_of_another_tenant_is_not_found_in_this_one(client, tenant, other_tenant, project, member_of):
    from tests.factories import ProjectFactory

    theirs = model_version(other_tenant, ProjectFactory(tenant=other_tenant), 1)
    client.force_login(member_of(tenant, Role.OWNER).user)

    assert client.get(url("model-evaluation", tenant, project, version_id=theirs.pk)).status_code == 404


def test_a_viewer_reads_the_pages_but_may_not_deploy(client, tenant, project, member_of, serving_and_lower):
    _, v2 = serving_and_lower
    client.force_login(member_of(tenant, Role.VIEWER).user)

    page = client.get(url("model-evaluation", tenant, project, version_id=v2.pk)).content.decode()

    assert "Deploy v2" not in page
    assert client.post(url("model-deploy", tenant, project, version_id=v2.pk), {"confirm": "yes"}).status_code == 403
    assert serving(tenant, project) == 1
