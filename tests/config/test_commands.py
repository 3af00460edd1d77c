"""Operators' and scripts' management commands."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from tenants.models import ApiKey, AuditEvent, Membership, Role, Tenant
from tenants.services import api_key_authenticate
from tests.factories import ProjectFactory


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_tenant_prints_the_slug_last_and_makes_the_owner(db):
    out, _ = run("create_tenant", "--name", "Initech Support", "--owner", "Boss@Initech.example")

    slug = out.strip().splitlines()[-1]
    tenant = Tenant.objects.get(slug=slug)
    assert slug == "initech-support"
    membership = Membership.objects.for_tenant(tenant).get()
    assert (membership.user.email, membership.role) == ("boss@initech.example", Role.OWNER)


def test_create_tenant_twice_with_the_same_name_gets_a_distinct_slug(db):
    first, _ = run("create_tenant", "--name", "Initech", "--owner", "a@initech.example")
    second, _ = run("create_tenant", "--name", "Initech", "--owner", "a@initech.example")

    assert first.strip() == "initech"
    assert second.strip() == "initech-2"


def test_create_tenant_refuses_an_owner_that_is_not_an_email(db):
    with pytest.raises(CommandError, match="must be an email"):
        run("create_tenant", "--name", "X", "--owner", "bob")


def test_create_api_key_prints_a_working_key_last(tenant):
    out, _ = run("create_api_key", "--tenant", tenant.slug, "--name", "helpdesk", "--scopes", "predict")

    secret = out.strip().splitlines()[-1]
    api_key = api_key_authenticate(secret)
    assert (api_key.tenant_id, api_key.name, api_key.scopes) == (tenant.pk, "helpdesk", ["predict"])
    assert AuditEvent.objects.for_tenant(tenant).filter(action="api_key.created").exists()


def test_create_api_key_can_limit_the_key_to_a_project(tenant):
    project = ProjectFactory(tenant=tenant)

    run("create_api_key", "--tenant", tenant.slug, "--name", "one", "--project", str(project.pk))

    assert ApiKey.objects.for_tenant(tenant).get().project_id == project.pk


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nope", "--name", "k"], "No tenant with slug 'nope'"),
        (["--tenant", "acme", "--name", "k", "--scopes", "predict,admin"], "Unknown scope(s) admin"),
        (["--tenant", "acme", "--name", "k", "--project", "not-a-uuid"], "must be a project id"),
        (["--tenant", "acme", "--name", "k", "--project", "6f1c3a52-8f4e-4a0e-9d3b-0a4c3b2f1e00"], "No project"),
    ],
)
def test_create_api_key_explains_bad_arguments_and_creates_nothing(tenant, args, message):
    with pytest.raises(CommandError) as raised:
        run("create_api_key", *args)

    assert message in str(raised.value)
    assert not ApiKey.all_tenants.exists()


def test_create_api_key_refuses_a_project_of_another_tenant(tenant, other_tenant):
    theirs = ProjectFactory(tenant=other_tenant)

    with pytest.raises(CommandError, match="No project"):
        run("create_api_key", "--tenant", tenant.slug, "--name", "k", "--project", str(theirs.pk))


def test_seed_demo_with_train_queues_a_demo_model_once(db, settings):
    from projects.models import Dataset
    from training.models import TrainingRun

    settings.DEBUG = True
    first, _ = run("seed_demo", "--train")
    run("seed_demo", "--train")

    tenant = Tenant.objects.get(slug="demo")
    (dataset,) = Dataset.objects.for_tenant(tenant)
    (training,) = TrainingRun.objects.for_tenant(tenant)
    assert dataset.status == "ready" and dataset.label_count == 4 and dataset.rows_usable >= 200
    assert training.status == "queued" and training.dataset_id == dataset.pk
    assert "Demo model training on" in first
    # A short plan (not the 15 epochs a dataset this small gets by default): it trains in well under a minute.
    assert training.hyperparameters == {"epochs": 4, "learning_rate": 2e-4, "max_length": 32}
    assert "in about a minute" in first
