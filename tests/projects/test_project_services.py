from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from projects.models import Project
from projects.services import project_create
from tenants.errors import Conflict
from tests.factories import ProjectFactory


def test_the_database_refuses_two_project_names_differing_only_in_case(tenant):
    ProjectFactory(tenant=tenant, name="Intents")

    with pytest.raises(IntegrityError), transaction.atomic():
        Project.all_tenants.create(tenant=tenant, name="INTENTS")


def test_the_same_name_in_another_tenant_is_fine(tenant, other_tenant):
    ProjectFactory(tenant=tenant, name="Intents")

    assert project_create(tenant=other_tenant, name="intents").name == "intents"


def test_creating_a_name_taken_in_another_case_is_a_conflict_on_the_name(tenant):
    ProjectFactory(tenant=tenant, name="Intents")

    with pytest.raises(Conflict) as raised:
        project_create(tenant=tenant, name=" intents ")

    assert raised.value.field == "name"
