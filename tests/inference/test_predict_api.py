"""``POST /api/v1/projects/{id}/predict/``: shapes per use case, limits, deploys, usage, rate limits, access."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from billing.models import Plan, Subscription, UsageRecord
from inference.api.serializers import PredictRequestSerializer, predict_request
from tests.factories import NAMES, WORDS, ProjectFactory
from training import services as training_services
from training.models import ModelVersion

FOOD = "pizza bread cheese soup"
MUSIC = "guitar piano song melody"


def url(project) -> str:
    return f"/api/v1/projects/{project.pk}/predict/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    """Each test counts its rate limits from zero: its own key prefix in the cache, which other tests (and
    other test processes) share, instead of clearing it under them."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


@pytest.fixture
def ten_seconds_into_a_minute(time_machine):
    """The rate limits count in one-minute windows: start 10 s into one, so a test's calls share it."""
    time_machine.move_to(dt.datetime(2026, 12, 1, 12, 0, 10, tzinfo=dt.UTC))


@pytest.fixture
def project(tenant):
    return ProjectFactory(tenant=tenant, name="Support", use_case="customer_service", confidence_threshold=0.5)


@pytest.fixture
def client(tenant, key_client):
    return key_client(tenant, scopes=("predict",))


# --- shapes ---------------------------------------------------------------------------------------------


def test_customer_service_prediction_has_label_score_alternatives_and_needs_human(project, client, deploy):
    version = deploy(project, "full")

    response = client.post(url(project), {"texts": [FOOD, MUSIC], "top_k": 2}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["model_version"]["id"] == str(version.pk)
    assert body["model_version"]["version"] == 1
    first, second = body["predictions"]
    assert (first["label"], second["label"]) == ("food", "music")
    assert set(first) == {"label", "score", "needs_human", "labels"}
    assert len(first["labels"]) == 2
    assert first["labels"][0]["name"] == "food" and first["labels"][0]["score"] == first["score"]
    assert first["labels"][0]["score"] >= first["labels"][1]["score"]
    assert first["needs_human"] is (first["score"] < 0.5)


def test_a_score_under_the_confidence_threshold_needs_a_human(project, client, deploy):
    deploy(project, "full")
    project.confidence_threshold = 0.999
    project.save()

    prediction = client.post(url(project), {"texts": [FOOD]}, format="json").json()["predictions"][0]

    assert prediction["score"] < 0.999
    assert prediction["needs_human"] is True
    assert prediction["labels"][0]["above_threshold"] is False


def test_top_k_defaults_to_every_label_up_to_five(project, client, deploy):
    deploy(project, "full")

    prediction = client.post(url(project), {"texts": [FOOD]}, format="json").json()["predictions"][0]

    assert next(label["name"] for label in prediction["labels"]) == "food"
    assert sorted(label["name"] for label in prediction["labels"]) == NAMES


def test_recommendation_multi_label_marks_each_label_against_its_own_threshold(tenant, key_client, deploy):
    project = ProjectFactory(tenant=tenant, name="Interests", use_case="recommendation", multi_label=True)
    version = deploy(project, "multi")
    text = " ".join(WORDS["food"][:3] + WORDS["sports"][:3])

    prediction = key_client(tenant).post(url(project), {"texts": [text]}, format="json").json()["predictions"][0]

    assert set(prediction) == {"labels"}
    scores = {label["name"]: label for label in prediction["labels"]}
    assert [label["score"] for label in prediction["labels"]] == sorted(
        (label["score"] for label in prediction["labels"]), reverse=True
    )
    for name, label in scores.items():
        assert label["above_threshold"] is (label["score"] >= version.thresholds[name])
    assert {label["name"] for label in prediction["labels"][:2]} == {"food", "sports"}


def test_monitoring_projects_get_the_same_shape(tenant, key_client, deploy):
    project = ProjectFactory(tenant=tenant, name="Mentions", use_case="monitoring")
    deploy(project, "full")

    prediction = key_client(tenant).post(url(project), {"texts": [MUSIC]}, format="json").json()["predictions"][0]

    assert prediction["label"] == "music"
    assert "needs_human" in prediction


def test_lora_versions_are_served_through_the_shared_encoder(project, client, deploy):
    deploy(project, "lora")

    response = client.post(url(project), {"texts": [FOOD, MUSIC]}, format="json")

    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 2


def test_a_version_that_passed_parity_is_served_in_bf16_where_the_cpu_has_it(project, client, deploy):
    from inference import runtime

    deploy(project, "full", serving_precision="bf16")

    served = client.post(url(project), {"texts": [FOOD]}, format="json").json()["model_version"]

    assert served["precision"] == ("bf16" if runtime.bf16_supported() else "fp32")


def test_a_version_that_failed_parity_is_served_in_fp32(project, client, deploy):
    deploy(project, "full", serving_precision="fp32")

    assert client.post(url(project), {"texts": [FOOD]}, format="json").json()["model_version"]["precision"] == "fp32"


# --- deploys --------------------------------------------------------------------------------------------


def test_deploying_another_version_switches_the_served_one_at_once(tenant, project, client, deploy):
    first = deploy(project, "full")
    second = deploy(project, "lora", active=False)

    assert client.post(url(project), {"texts": [FOOD]}, format="json").json()["model_version"]["version"] == 1
    training_services.model_deploy(tenant=tenant, version_id=second.pk)
    assert client.post(url(project), {"texts": [FOOD]}, format="json").json()["model_version"]["version"] == 2
    training_services.model_deploy(tenant=tenant, version_id=first.pk)  # the rollback
    assert client.post(url(project), {"texts": [FOOD]}, format="json").json()["model_version"]["version"] == 1


def test_repeated_calls_find_the_key_and_the_version_without_the_database(project, client, deploy):
    deploy(project, "full")
    client.post(url(project), {"texts": [FOOD]}, format="json")

    with CaptureQueriesContext(connection) as second:
        assert client.post(url(project), {"texts": [FOOD]}, format="json").status_code == 200

    read = " ".join(q["sql"] for q in second.captured_queries).lower()
    assert "tenants_apikey" not in read
    assert "training_modelversion" not in read
    assert "billing_usagerecord" in read  # the usage of this call is still written


def test_a_deploy_made_by_another_process_is_served_within_the_lookup_ttl(
    project, client, deploy, settings, lookup_clock
):
    settings.SERVING_LOOKUP_TTL_S = 0.3
    first = deploy(project, "full")
    second = deploy(project, "lora", active=False)
    assert client.post(url(project), {"texts": [FOOD]}, format="json").json()["model_version"]["version"] == 1

    # Another web process's deploy: this one gets no signal of it, only the rows change.
    ModelVersion.all_tenants.filter(pk=first.pk).update(is_active=False)
    ModelVersion.all_tenants.filter(pk=second.pk).update(is_active=True)
    lookup_clock.advance(0.29)
    assert client.post(url(project), {"texts": [FOOD]}, format="json").json()["model_version"]["version"] == 1
    lookup_clock.advance(0.02)

    assert client.post(url(project), {"texts": [FOOD]}, format="json").json()["model_version"]["version"] == 2


def test_a_project_without_a_deployed_model_answers_409(project, client, deploy):
    deploy(project, "full", active=False)

    response = client.post(url(project), {"texts": [FOOD]}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_model_deployed"


# --- usage ----------------------------------------------------------------------------------------------


def test_each_call_records_its_texts_as_usage(tenant, project, client, deploy):
    version = deploy(project, "full")

    client.post(url(project), {"texts": [FOOD, MUSIC, FOOD]}, format="json")
    client.post(url(project), {"texts": [MUSIC]}, format="json")

    records = UsageRecord.objects.for_tenant(tenant).order_by("created_at")
    assert [(r.kind, r.quantity, r.project_id, r.model_version_id) for r in records] == [
        ("prediction", 3, project.pk, version.pk),
        ("prediction", 1, project.pk, version.pk),
    ]
    assert all(r.api_key_id is not None and r.sent_at is None for r in records)


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_each_record_their_usage(tenant, project, key_client, deploy):
    # Request threads write usage at once: on SQLite they queue for the one writer; none is lost.
    deploy(project, "full")
    clients = [key_client(tenant, scopes=("predict",)) for _ in range(6)]
    statuses: list[int] = []

    def call(api_client) -> None:
        for _ in range(3):
            statuses.append(api_client.post(url(project), {"texts": [FOOD, MUSIC]}, format="json").status_code)

    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert statuses == [200] * 18
    records = UsageRecord.objects.for_tenant(tenant)
    assert records.count() == 18
    assert sum(r.quantity for r in records) == 36


def test_a_refused_call_records_no_usage(tenant, project, client, deploy):
    deploy(project, "full")

    with override_settings(PREDICT_MAX_TEXT_CHARS=5):
        client.post(url(project), {"texts": ["pizza pizza"]}, format="json")
    client.post(url(project), {"texts": []}, format="json")

    assert not UsageRecord.objects.for_tenant(tenant).exists()


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "texts"),
        ({"texts": []}, "texts"),
        ({"texts": "pizza"}, "texts"),
        ({"texts": ["pizza", ""]}, "texts.1"),
        ({"texts": ["pizza", 7, None]}, "texts.2"),
        ({"texts": ["pizza"], "top_k": 0}, "top_k"),
        ({"texts": ["pizza"], "top_k": "many"}, "top_k"),
    ],
)
def test_malformed_requests_answer_400_naming_the_field(project, client, deploy, payload, field):
    deploy(project, "full")

    response = client.post(url(project), payload, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in [detail["field"] for detail in error["details"]]


def test_a_client_that_takes_only_html_gets_406_and_one_that_takes_json_its_predictions(project, client, deploy):
    deploy(project, "full")

    refused = client.post(url(project), {"texts": [FOOD]}, format="json", HTTP_ACCEPT="text/html")
    served = client.post(url(project), {"texts": [FOOD]}, format="json", HTTP_ACCEPT="application/json")

    assert refused.status_code == 406
    assert refused.json()["error"]["code"] == "not_acceptable"
    assert served.status_code == 200
    assert served["Content-Type"] == "application/json"


def test_a_text_with_a_nul_character_answers_400_naming_it(project, client, deploy):
    deploy(project, "full")

    response = client.post(url(project), {"texts": ["pizza", "pizza\x00soup"]}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "texts.1"


_json_scalars = st.none() | st.booleans() | st.integers(-3, 300) | st.floats(allow_nan=False) | st.text(max_size=4)


_texts = st.text(alphabet="ab \x00\ud800", max_size=3)


@hypothesis_settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.fixed_dictionaries(
            {"texts": st.lists(_texts, max_size=4)},
            optional={"top_k": st.sampled_from([1, 100, 0, 101, "5", 5.0, True, None])},
        ),
        st.fixed_dictionaries(
            {},
            optional={
                "texts": st.lists(_json_scalars | _texts, max_size=4) | _json_scalars,
                "top_k": _json_scalars,
                "other": _json_scalars,
            },
        ),
        st.lists(_json_scalars, max_size=2),
        _json_scalars,
    )
)
def test_the_fast_request_check_accepts_and_refuses_exactly_what_the_serializer_does(data):
    try:
        serializer = PredictRequestSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        expected: object = (serializer.validated_data["texts"], serializer.validated_data.get("top_k"))
    except ValidationError as error:
        expected = error.detail

    try:
        got: object = predict_request(data)
    except ValidationError as error:
        got = error.detail

    assert got == expected


def test_more_than_the_maximum_texts_answers_400_with_the_limit(project, client, deploy):
    deploy(project, "full")

    response = client.post(url(project), {"texts": ["pizza"] * 257}, format="json")

    assert response.status_code == 400
    assert "At most 256 texts" in response.json()["error"]["message"]


def test_a_text_over_the_character_limit_answers_413_naming_it(project, client, deploy):
    deploy(project, "full")

    with override_settings(PREDICT_MAX_TEXT_CHARS=20):
        response = client.post(url(project), {"texts": ["pizza", "x" * 21]}, format="json")

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "text_too_long"
    assert error["details"][0]["field"] == "texts.1"


# --- rate limits ----------------------------------------------------------------------------------------


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(project, client, deploy, ten_seconds_into_a_minute):
    deploy(project, "full")

    with override_settings(PREDICT_RATE_PER_KEY=2):
        answers = [client.post(url(project), {"texts": [FOOD]}, format="json") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited"
    assert 40 <= int(answers[2]["Retry-After"]) <= 50  # what is left of the window


def test_the_tenant_limit_spans_its_keys_and_spares_other_tenants(
    tenant, other_tenant, project, key_client, deploy, ten_seconds_into_a_minute
):
    deploy(project, "full")
    theirs = ProjectFactory(tenant=other_tenant, name="Theirs")
    deploy(theirs, "full")
    a, b = key_client(tenant), key_client(tenant)

    with override_settings(PREDICT_RATE_PER_TENANT=2):
        codes = [c.post(url(project), {"texts": [FOOD]}, format="json").status_code for c in (a, b, a)]
        other = key_client(other_tenant).post(url(theirs), {"texts": [FOOD]}, format="json")

    assert codes == [200, 200, 429]
    assert other.status_code == 200


def test_the_tenants_plan_sets_its_rate_limits_over_the_settings(
    tenant, project, client, deploy, ten_seconds_into_a_minute
):
    deploy(project, "full")
    plan = Plan.objects.create(code="tight", name="Tight", included_predictions=1000, predict_rate_per_key=2)
    Subscription.objects.for_tenant(tenant).update_or_create(tenant=tenant, defaults={"plan": plan})

    with override_settings(PREDICT_RATE_PER_KEY=100):
        codes = [client.post(url(project), {"texts": [FOOD]}, format="json").status_code for _ in range(3)]

    assert codes == [200, 200, 429]


def test_a_plan_that_leaves_a_rate_empty_falls_back_to_the_setting(
    tenant, project, client, deploy, ten_seconds_into_a_minute
):
    deploy(project, "full")
    plan = Plan.objects.create(code="open", name="Open", included_predictions=1000, predict_rate_per_key=None)
    Subscription.objects.for_tenant(tenant).update_or_create(tenant=tenant, defaults={"plan": plan})

    with override_settings(PREDICT_RATE_PER_KEY=1):
        codes = [client.post(url(project), {"texts": [FOOD]}, format="json").status_code for _ in range(2)]

    assert codes == [200, 429]


# --- who may call it ------------------------------------------------------------------------------------


def test_anonymous_gets_401(api_client, project):
    response = api_client.post(url(project), {"texts": [FOOD]}, format="json")

    assert response.status_code == 401


def test_another_tenants_project_answers_404(other_tenant, project, key_client, deploy):
    deploy(project, "full")

    response = key_client(other_tenant).post(url(project), {"texts": [FOOD]}, format="json")

    assert response.status_code == 404


def test_a_key_without_the_predict_scope_gets_403(tenant, project, key_client, deploy):
    deploy(project, "full")

    response = key_client(tenant, scopes=("manage",)).post(url(project), {"texts": [FOOD]}, format="json")

    assert response.status_code == 403
    assert "predict" in response.json()["error"]["message"]


def test_a_key_limited_to_another_project_gets_404(tenant, project, key_client, deploy):
    deploy(project, "full")
    other = ProjectFactory(tenant=tenant, name="Other")

    response = key_client(tenant, project=other).post(url(project), {"texts": [FOOD]}, format="json")

    assert response.status_code == 404


def test_a_key_limited_to_this_project_may_predict(tenant, project, key_client, deploy):
    deploy(project, "full")

    response = key_client(tenant, scopes=("predict",), project=project).post(url(project), {"texts": [FOOD]})

    assert response.status_code == 200


def test_a_deploy_loads_the_version_into_this_process_before_its_first_request(
    tenant, project, key_client, deploy, django_capture_on_commit_callbacks
):
    from inference import loading

    version = deploy(project, "full", active=False)
    assert str(version.pk) not in loading.model_cache()

    with django_capture_on_commit_callbacks(execute=True):
        response = key_client(tenant).post(f"/api/v1/models/{version.pk}/deploy/")
    warming = [t for t in threading.enumerate() if t.name == f"warm-up-{version.pk}"]
    for thread in warming:
        thread.join(timeout=60)

    assert response.status_code == 200
    assert str(version.pk) in loading.model_cache()
