"""Factories that keep related objects inside one tenant."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import factory
from django.contrib.auth import get_user_model

from projects.models import Project
from tenants.models import ApiKey, Membership, Role, Tenant
from tenants.services import api_key_create
from training.engine.base_models import DEFAULT_BASE_MODEL, resolve

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


TINY_BERT_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")


def make_tiny_bert(directory: Path, *, seed: int = 0) -> Path:
    """Write a tiny randomly initialised BERT (hidden 32, 2 layers, ~1 M parameters) for tests.

    It reuses the packaged MiniLM's uncased WordPiece tokenizer (hence its vocabulary size), so it
    needs no download; it knows no language, so tests with it assert behaviour, or learning on a
    separable toy task, never real accuracy.
    """
    import torch
    from transformers import BertConfig, BertModel

    source = resolve(DEFAULT_BASE_MODEL, {})
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(str(directory))
    for name in TINY_BERT_TOKENIZER_FILES:
        if (source.path / name).is_file():
            shutil.copyfile(source.path / name, directory / name)
    return directory
