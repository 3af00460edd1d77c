"""The OpenAPI document and the docs page that renders it."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema() -> dict:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content
    return response.json()


def test_schema_is_a_valid_openapi_document(schema):
    validate_schema(schema)

    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Tunebase API"


def test_schema_is_served_without_a_key():
    assert Client().get("/api/schema/").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/projects/", "/api/v1/projects/{id}/"])
def test_schema_documents_the_projects_endpoints(schema, path):
    assert path in schema["paths"]


def test_schema_types_the_project_id_as_a_uuid(schema):
    parameters = schema["paths"]["/api/v1/projects/{id}/"]["get"]["parameters"]

    assert {"in": "path", "name": "id"}.items() <= parameters[0].items()
    assert parameters[0]["schema"] == {"type": "string", "format": "uuid"}


def test_schema_documents_the_api_key_scheme(schema):
    scheme = schema["components"]["securitySchemes"]["ApiKeyAuth"]

    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "Api-Key <key>" in scheme["description"]


HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Operations the API serves without a key, each with why. None so far: the schema and the docs page are
# public but are not operations of the document (SERVE_INCLUDE_SCHEMA is off).
PUBLIC_OPERATIONS: dict[tuple[str, str], str] = {}


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_every_operation_requires_the_api_key(schema):
    found = operations(schema)
    keyless = {
        (method.upper(), path): operation.get("security", schema.get("security"))
        for method, path, operation in found
        if (method, path) not in PUBLIC_OPERATIONS and operation.get("security") != [{"ApiKeyAuth": []}]
    }

    assert ("get", "/api/v1/projects/") in {(method, path) for method, path, _ in found}
    assert len(found) > 20, "the schema lost its operations"
    assert keyless == {}, "operations that do not require the API key (name intended ones in PUBLIC_OPERATIONS)"
    assert set(PUBLIC_OPERATIONS) <= {(method, path) for method, path, _ in found}, "stale PUBLIC_OPERATIONS"


def test_every_operation_states_the_scope_it_needs(schema):
    """``x-required-scope`` for tools, and a sentence in the description for people reading the docs
    (tests/tenants/test_scopes.py checks each value against what the server does)."""
    stated = {(method, path): op.get("x-required-scope") for method, path, op in operations(schema)}
    undescribed = [
        (method, path)
        for method, path, op in operations(schema)
        if f"`{op.get('x-required-scope')}` scope" not in op.get("description", "")
        and "Any valid API key" not in op.get("description", "")
    ]

    assert {op: scope for op, scope in stated.items() if scope not in {"read", "predict", "manage", "none"}} == {}
    assert undescribed == []
    assert stated[("get", "/api/v1/projects/{project_pk}/feedback/")] == "read"
    assert stated[("post", "/api/v1/projects/{project_pk}/feedback/")] == "predict"
    assert stated[("get", "/api/v1/usage/")] == "none"


def test_every_operation_answers_401_without_a_key(schema):
    """What the document claims, the server does: no operation answers a caller without a key."""
    client = Client()
    answers = {}
    for method, path, _ in operations(schema):
        if (method, path) in PUBLIC_OPERATIONS:
            continue
        url = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)
        answers[(method.upper(), path)] = getattr(client, method)(url).status_code

    assert {op: status for op, status in answers.items() if status != 401} == {}


def test_docs_page_renders():
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content


def test_docs_page_loads_nothing_from_a_cdn():
    html = Client().get("/api/docs/").content.decode()

    assert not re.search(r"cdn|jsdelivr|unpkg|cdnjs", html, re.IGNORECASE)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.IGNORECASE)
    assert "/static/drf_spectacular_sidecar/" in html


def test_every_operation_documents_its_errors_in_the_error_shape(schema):
    """The errors every operation may answer (tenants/api/schema.py adds them centrally) point at the one
    ``Error`` component; tests/test_api_fuzz.py checks real answers against them."""
    undocumented = {
        (method.upper(), path): sorted({"400", "401", "403", "404", "429"} - set(op["responses"]))
        for method, path, op in operations(schema)
        if not {"400", "401", "403", "404", "429"} <= set(op["responses"])
    }
    shapes = {
        response["content"]["application/json"]["schema"].get("$ref")
        for _, _, op in operations(schema)
        for code, response in op["responses"].items()
        if code in {"400", "401", "403", "404"}
    }

    assert undocumented == {}
    assert shapes == {"#/components/schemas/Error"}
    assert schema["paths"]["/api/v1/projects/{project_pk}/predict/"]["post"]["responses"].keys() >= {"402", "413"}


def test_an_error_answer_has_the_documented_shape(schema):
    import jsonschema

    body = Client().get("/api/v1/projects/").json()

    jsonschema.validate(body, schema["components"]["schemas"]["Error"])
    assert body["error"]["code"] == "not_authenticated"
