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


# --- dashboard ------------------------------------------------------------------------------------------


def dashboard_url(name: str, tenant: Tenant, **kwargs: object) -> str:
    """The URL of dashboard page ``name`` in ``tenant`` (``kwargs``: the page's other URL arguments)."""
    from django.urls import reverse

    return reverse(f"dashboard:{name}", kwargs={"tenant_slug": tenant.slug, **kwargs})


# --- uploads that cannot become a dataset, each with the error it must get -----------------------------

GOOD_LINES = [f"message number {i} about cards,{'card' if i % 2 else 'refund'}" for i in range(20)]


def rows(*lines: str, header: str = "text,label") -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


def _xlsx() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def _mixed_encoding() -> bytes:
    head = rows(*GOOD_LINES) + b"".join(f"filler text row {i},card\n".encode() for i in range(4000))
    return head + "caf\xe9 in cp1252,refund\n".encode("cp1252")


class Refused:
    """A file a customer might upload that cannot become a dataset: the error ``code`` and HTTP ``status``
    it must get, the ``row`` the error names, and the form ``fields`` sent with the file."""

    def __init__(
        self,
        name: str,
        data: bytes,
        code: str,
        *,
        status: int = 400,
        row: int | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        self.name, self.data, self.code, self.status, self.row = name, data, code, status, row
        self.fields = dict(fields or {})

    def __repr__(self) -> str:
        return f"Refused({self.name!r}, code={self.code!r})"


REFUSED = [
    Refused("empty", b"", "empty_file"),
    Refused("only whitespace", b"  \n\r\n\t ", "empty_file"),
    Refused("only a BOM", "\ufeff".encode(), "empty_file"),
    Refused("header only", b"text,label\n", "header_only", row=1),
    Refused("one column", b"text\nhello there\nsecond line\n", "one_column"),
    Refused("missing named column", rows(*GOOD_LINES), "missing_column", row=1, fields={"text_column": "utterance"}),
    Refused("columns not guessable", rows("hi,a", "bye,b", header="foo,bar"), "missing_column", row=1),
    Refused(
        "same column twice",
        rows(*GOOD_LINES),
        "same_column",
        row=1,
        fields={"text_column": "text", "label_column": "text"},
    ),
    Refused("duplicate header", rows("a,b,c", "d,e,f", header="text,text,label"), "duplicate_header", row=1),
    Refused(
        "unterminated quote", rows(*GOOD_LINES[:3], '"never closed,card', *GOOD_LINES[3:6]), "unterminated_quote", row=5
    ),
    Refused("NUL bytes", b"text,label\nhello\x00\x01\x02,card\n" + bytes(range(256)) * 4, "not_text"),
    Refused("PDF renamed .csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not_text"),
    Refused("gzip", _gzip(rows(*GOOD_LINES)), "not_text"),
    Refused("xlsx workbook", _xlsx(), "not_text"),
    Refused("PNG renamed .csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_text"),
    Refused("old Excel", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "not_text"),
    Refused("encoding changes mid-file", _mixed_encoding(), "invalid_encoding", row=4022),
    Refused(
        "field over 2 MiB", rows(*GOOD_LINES[:2], "x" * (2 * 1024 * 1024 + 10) + ",card"), "field_too_large", row=4
    ),
    Refused("JSON Lines without objects", b"[1, 2]\n[3]\n", "invalid_json"),
]
