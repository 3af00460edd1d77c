"""Factories that keep related objects inside one tenant."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from projects.models import Project
from tenants.models import ApiKey, Membership, Role, Tenant
from tenants.services import api_key_create

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)


class TenantOwnedFactory(factory.django.DjangoModelFactory):
    """Creates through ``all_tenants``: ``objects`` refuses unscoped use, as it should."""

    class Meta:
        abstract = True

    @classmethod
    def _get_manager(cls, model_class: Any) -> Any:
        return model_class.all_tenants


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")


class MembershipFactory(TenantOwnedFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class ProjectFactory(TenantOwnedFactory):
    class Meta:
        model = Project

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    use_case = "customer_service"


def make_api_key(
    tenant: Tenant, *, scopes: tuple[str, ...] = ("predict", "manage"), **kwargs: Any
) -> tuple[ApiKey, str]:
    """A real key through the service (hash, audit event and all); returns the key and its secret."""
    return api_key_create(tenant=tenant, name=kwargs.pop("name", "test key"), scopes=list(scopes), **kwargs)
