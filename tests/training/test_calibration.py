"""Honest scores (issue 16): temperature scaling at training, applied in serving, and thresholds to adopt.

The maths is checked on synthetic logits whose true temperature is known; the wiring on a tiny random
BERT trained on a vocabulary task with some labels flipped (so the validation rows hold errors to
calibrate on); the one-click adoption through the dashboard, with its role and tenant checks.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from inference import runtime
from tenants.models import AuditAction, AuditEvent, Role
from tests.factories import config, make_tiny_bert, model_version, separable
from training import engine
from training.engine import calibration
from training.models import ModelVersion

# --- the maths, on logits of a known temperature ------------------------------------------------------


def over_confident(n: int = 6000, labels: int = 5, temperature: float = 3.0, seed: int = 0):
    """Labels drawn from softmax(z), logits reported as z * temperature: a model that temperature too sure."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, labels)) * 2.0
    probs = calibration.softmax(z)
    targets = (probs.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return z * temperature, targets


def test_the_fitted_temperature_recovers_the_known_one():
    logits, targets = over_confident(temperature=3.0)

    fitted = calibration.fit_temperature(logits, targets)

    assert fitted == pytest.approx(3.0, rel=0.08)
    assert calibration.nll(logits, targets, fitted) < calibration.nll(logits, targets)


def test_an_under_confident_model_gets_a_temperature_below_one():
    logits, targets = over_confident(temperature=0.6)

    assert calibration.fit_temperature(logits, targets) == pytest.approx(0.6, rel=0.08)


def test_calibration_error_drops_after_scaling():
    logits, targets = over_confident()

    report = calibration.calibrate(logits, targets, multi_label=False, held_out=True)

    assert report["method"] == "temperature" and report["bins"] == 15 and report["validation_size"] == 6000
    assert report["ece_before"] > 0.1
    assert report["ece_after"] < report["ece_before"] / 4
    assert report["nll_after"] < report["nll_before"]


def test_ece_of_perfectly_calibrated_scores_is_near_zero_and_of_overconfident_ones_is_the_gap():
    # 1,000 rows scored 0.8, of which 800 right: calibrated; the same rows scored 0.99: off by 0.19.
    targets = np.array([0] * 800 + [1] * 200)
    calibrated = np.tile([0.8, 0.2], (1000, 1))
    sure = np.tile([0.99, 0.01], (1000, 1))

    assert calibration.expected_calibration_error(calibrated, targets) == pytest.approx(0.0, abs=1e-12)
    assert calibration.expected_calibration_error(sure, targets) == pytest.approx(0.19)


def test_suggestions_keep_their_promises_on_the_rows_they_came_from():
    logits, targets = over_confident(temperature=2.0)
    report = calibration.calibrate(logits, targets, multi_label=False, held_out=True)
    scores = calibration.softmax(logits, report["temperature"])
    confidence, correct = scores.max(axis=1), scores.argmax(axis=1) == targets

    keys = [s["key"] for s in report["suggestions"]]
    # 99 %: no threshold keeps the 500 rows that would measure it (five errors expected among them)
    assert keys == ["precision_90", "precision_95", "coverage_5", "coverage_10", "coverage_20"]
    for s in report["suggestions"]:
        kept = confidence >= s["threshold"]  # as serving decides needs_human: score < threshold
        assert 1 - kept.mean() == pytest.approx(s["flagged_share"])
        assert correct[kept].mean() == pytest.approx(s["accuracy_of_rest"])
        if s["kind"] == "precision":
            assert s["accuracy_of_rest"] >= s["target"] and s["flagged_share"] > 0
            # the lowest such threshold: keeping one more row would miss the target
            next_row = confidence[~kept].max()
            with_next = confidence >= next_row
            assert correct[with_next].mean() < s["target"]
        else:
            assert s["flagged_share"] == pytest.approx(s["target"], abs=0.002)


def test_a_precision_only_the_surest_rows_reach_flags_the_rest_and_one_none_reach_is_left_out():
    # the 600 surest predictions are right, the 100 others (less sure) wrong
    logits = np.array([[9.0 + i / 100, 0.0] for i in range(600)] + [[1.0 + (i % 5), 0.0] for i in range(100)])
    targets = np.array([0] * 600 + [1] * 100)

    by_key = {s["key"]: s for s in calibration.suggest_thresholds(calibration.softmax(logits), targets)}

    assert by_key["precision_99"]["accuracy_of_rest"] == 1.0
    assert by_key["precision_99"]["flagged_share"] == pytest.approx(100 / 700)
    # one sure right answer among 60 is no measure of 99 %: that suggestion is left out, not promised
    few = np.array([[9.0, 0.0]] + [[1.0 + (i % 5), 0.0] for i in range(59)])
    few_keys = [s["key"] for s in calibration.suggest_thresholds(calibration.softmax(few), np.array([0] + [1] * 59))]
    assert "precision_99" not in few_keys
    all_wrong = calibration.suggest_thresholds(calibration.softmax(np.array([[2.0, 0.0], [1.0, 0.0]])), [1, 1])
    assert [s["kind"] for s in all_wrong] == ["coverage"] * 3


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"multi_label": True, "held_out": True}, "Multi-label"),
        ({"multi_label": False, "held_out": False}, "held out"),
    ],
)
def test_what_cannot_be_calibrated_stays_at_temperature_one_and_says_why(kwargs, reason):
    logits, targets = over_confident(n=200)

    report = calibration.calibrate(logits, targets, **kwargs)

    assert (report["method"], report["temperature"]) == ("none", 1.0) and reason in report["reason"]


def test_a_validation_set_without_errors_is_not_fitted():
    logits = np.array([[4.0, 0.0], [0.0, 4.0]] * 20)

    report = calibration.calibrate(logits, np.array([0, 1] * 20), multi_label=False, held_out=True)

    assert report["method"] == "none" and "all 40 validation texts right" in report["reason"]


# --- at training, in the artifact, in serving ---------------------------------------------------------


def noisy(n: int, flip: float = 0.15, seed: int = 0):
    """The separable toy task with a share of labels flipped: the model cannot be right everywhere."""
    texts, labels = separable(n, seed=seed)
    names = sorted({label for (label,) in labels})
    rng = random.Random(seed)
    flipped = [
        ((rng.choice([x for x in names if x != label]),) if rng.random() < flip else (label,)) for (label,) in labels
    ]
    return texts, flipped


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("calibration-tiny-bert"))


@pytest.fixture(scope="module")
def calibrated(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> engine.TrainResult:
    texts, labels = noisy(400)
    settings = config(epochs=6, learning_rate=5e-3, validation_fraction=0.3)
    return engine.fine_tune(texts, labels, settings, tiny, tmp_path_factory.mktemp("calibrated"), resume=False)


def test_a_trained_version_reports_its_calibration_and_the_artifact_keeps_the_temperature(calibrated):
    report = calibrated.metrics["calibration"]

    assert report["method"] == "temperature"
    assert report["temperature"] != pytest.approx(1.0, abs=0.01)
    assert report["validation_size"] == calibrated.metrics["n_validation"] > 0
    assert report["ece_after"] <= report["ece_before"]
    assert report["suggestions"] and {"key", "kind", "target", "threshold", "flagged_share", "accuracy_of_rest"} <= set(
        report["suggestions"][0]
    )
    manifest = json.loads((calibrated.artifact_dir / "tunebase.json").read_text())
    assert manifest["temperature"] == report["temperature"]
    assert json.loads((calibrated.artifact_dir / "report.json").read_text())["calibration"] == report


def test_serving_divides_the_logits_by_the_temperature(calibrated, tmp_path):
    texts = ["pizza bread soup", "guitar piano", "football goal match team", "cheese", "drum melody song violin"]
    temperature = calibrated.metrics["calibration"]["temperature"]
    raw = tmp_path / "raw"
    shutil.copytree(calibrated.artifact_dir, raw)
    manifest = json.loads((raw / "tunebase.json").read_text())
    manifest["temperature"] = 1.0
    (raw / "tunebase.json").write_text(json.dumps(manifest))

    served = runtime.load(calibrated.artifact_dir)
    uncalibrated = runtime.load(raw)
    scores, raw_scores = served.predict_proba(texts), uncalibrated.predict_proba(texts)

    assert served.temperature == temperature
    assert not np.allclose(scores, raw_scores, atol=1e-3)
    assert (scores.argmax(axis=1) == raw_scores.argmax(axis=1)).all()
    expected = calibration.softmax(np.log(raw_scores.astype(np.float64)), temperature)  # log-softmax = logits + c
    np.testing.assert_allclose(scores, expected, atol=1e-4)


def test_the_bf16_parity_check_compares_calibrated_scores(calibrated):
    report = runtime.parity_check(calibrated.artifact_dir)

    assert report.texts > 0 and report.passed


def test_an_artifact_written_before_calibration_serves_at_temperature_one(calibrated, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(calibrated.artifact_dir, old)
    manifest = json.loads((old / "tunebase.json").read_text())
    del manifest["temperature"]
    (old / "tunebase.json").write_text(json.dumps(manifest))

    classifier = runtime.load(old)

    assert classifier.temperature == 1.0
    assert classifier.predict_proba(["pizza bread soup"]).sum() == pytest.approx(1.0, abs=1e-5)


def test_a_bad_temperature_in_a_manifest_is_a_clear_error(calibrated, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(calibrated.artifact_dir, bad)
    manifest = json.loads((bad / "tunebase.json").read_text())
    manifest["temperature"] = 0
    (bad / "tunebase.json").write_text(json.dumps(manifest))

    with pytest.raises(runtime.ArtifactError, match="temperature must be a positive number"):
        runtime.load(bad)


# --- adopting a suggestion -----------------------------------------------------------------------------

CALIBRATION = {
    "method": "temperature",
    "temperature": 2.4,
    "ece_before": 0.081,
    "ece_after": 0.012,
    "bins": 15,
    "validation_size": 500,
    "suggestions": [
        {
            "key": "precision_95",
            "kind": "precision",
            "target": 0.95,
            "threshold": 0.71,
            "flagged_share": 0.12,
            "accuracy_of_rest": 0.953,
        },
        {
            "key": "coverage_10",
            "kind": "coverage",
            "target": 0.1,
            "threshold": 0.64,
            "flagged_share": 0.1,
            "accuracy_of_rest": 0.948,
        },
    ],
}


def adopt_url(tenant, project, version):
    return reverse(
        "dashboard:model-adopt-threshold",
        kwargs={"tenant_slug": tenant.slug, "project_id": project.pk, "version_id": version.pk},
    )


@pytest.fixture
def version(tenant, project):
    made = model_version(tenant, project, 1)
    ModelVersion.objects.for_tenant(tenant).filter(pk=made.pk).update(metrics={"calibration": CALIBRATION})
    made.refresh_from_db()
    return made


def threshold_of(project):
    project.refresh_from_db()
    return project.confidence_threshold


def test_a_member_adopts_a_suggestion_in_one_click(client, tenant, project, version, member_of):
    membership = member_of(tenant, Role.MEMBER)
    client.force_login(membership.user)
    back = reverse("dashboard:model-list", kwargs={"tenant_slug": tenant.slug, "project_id": project.pk})

    response = client.post(adopt_url(tenant, project, version), {"key": "precision_95", "next": back}, follow=True)

    assert threshold_of(project) == 0.71
    assert response.redirect_chain[-1][0] == back
    assert "below 0.710" in response.content.decode() and "95.3 %" in response.content.decode()
    event = AuditEvent.objects.for_tenant(tenant).get(action=AuditAction.CONFIDENCE_THRESHOLD_ADOPTED)
    assert event.actor == membership.user
    assert event.details["suggestion"] == "precision_95" and event.details["previous_threshold"] == 0.5


def test_next_may_not_leave_the_site(client, tenant, project, version, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)

    response = client.post(adopt_url(tenant, project, version), {"key": "coverage_10", "next": "https://evil.example/"})

    assert response["Location"] == reverse(
        "dashboard:model-list", kwargs={"tenant_slug": tenant.slug, "project_id": project.pk}
    )
    assert threshold_of(project) == 0.64


def test_an_unknown_suggestion_is_explained_and_changes_nothing(client, tenant, project, version, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)

    response = client.post(adopt_url(tenant, project, version), {"key": "precision_42"}, follow=True)

    assert "suggests no threshold &#x27;precision_42&#x27;; it suggests: precision_95, coverage_10" in (
        response.content.decode()
    )
    assert threshold_of(project) == 0.5
    assert not AuditEvent.objects.for_tenant(tenant).filter(action=AuditAction.CONFIDENCE_THRESHOLD_ADOPTED).exists()


def test_a_version_without_calibration_has_nothing_to_adopt(client, tenant, project, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)
    old = model_version(tenant, project, 1)

    response = client.post(adopt_url(tenant, project, old), {"key": "precision_95"}, follow=True)

    assert "v1 has no suggested thresholds" in response.content.decode()
    assert threshold_of(project) == 0.5


def test_a_viewer_cannot_adopt(client, tenant, project, version, member_of):
    client.force_login(member_of(tenant, Role.VIEWER).user)

    assert client.post(adopt_url(tenant, project, version), {"key": "precision_95"}).status_code == 403
    assert threshold_of(project) == 0.5


def test_another_tenants_member_gets_404(client, tenant, other_tenant, project, version, member_of):
    client.force_login(member_of(other_tenant, Role.OWNER).user)

    assert client.post(adopt_url(tenant, project, version), {"key": "precision_95"}).status_code == 404
    assert threshold_of(project) == 0.5


def test_a_version_of_another_project_is_404(client, tenant, project, version, member_of):
    from tests.factories import ProjectFactory

    client.force_login(member_of(tenant, Role.OWNER).user)
    elsewhere = ProjectFactory(tenant=tenant)

    assert client.post(adopt_url(tenant, elsewhere, version), {"key": "precision_95"}).status_code == 404
    assert threshold_of(project) == 0.5 and threshold_of(elsewhere) == 0.5


# --- the partial the evaluation page includes -----------------------------------------------------------


def render_partial(tenant, project, version, *, can_write):
    request = RequestFactory().get("/evaluation/")
    return render_to_string(
        "training/_calibration.html",
        {"version": version, "project": project, "tenant": tenant, "can_write": can_write},
        request=request,
    )


def test_the_partial_shows_temperature_errors_and_an_adopt_button_per_suggestion(tenant, project, version):
    html = render_partial(tenant, project, version, can_write=True)

    assert "temperature of <strong>2.40</strong>" in html
    assert "<strong>0.081</strong> before, <strong>0.012</strong> after" in html
    assert html.count(">Adopt</button>") == 2
    assert 'value="precision_95"' in html and "95 % of the rest right" in html and "flag 10 %" in html
    assert adopt_url(tenant, project, version) in html


def test_the_partial_marks_the_adopted_threshold_and_hides_buttons_from_viewers(tenant, project, version):
    project.confidence_threshold = 0.71
    project.save()

    assert ">adopted</span>" in render_partial(tenant, project, version, can_write=True)
    assert "Adopt</button>" not in render_partial(tenant, project, version, can_write=False)


def test_the_partial_says_why_a_version_is_not_calibrated(tenant, project):
    old = model_version(tenant, project, 1)
    html = render_partial(tenant, project, old, can_write=True)
    assert "trained before scores were calibrated" in html

    ModelVersion.objects.for_tenant(tenant).filter(pk=old.pk).update(
        metrics={"calibration": {"method": "none", "temperature": 1.0, "reason": "Only 7 validation rows."}}
    )
    old.refresh_from_db()
    assert "Only 7 validation rows." in render_partial(tenant, project, old, can_write=True)
