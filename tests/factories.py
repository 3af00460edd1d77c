"""Builders and helpers shared by the test modules: factories that keep related objects inside one tenant,
the files and texts the tests upload and train on, and the helpers of the worker, serving and webhook tests.

Fixtures live in the conftest.py files; test modules import plain helpers from here, never from each other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage

from billing.models import Plan, Subscription
from projects.models import Dataset, DatasetStatus, Project
from tenants.models import ApiKey, Membership, Role, Tenant
from tenants.services import api_key_create
from training import engine
from training.engine.base_models import DEFAULT_BASE_MODEL, resolve
from training.models import ModelVersion, RunStatus, TrainingRun

# --- tenants and people ---------------------------------------------------------------------------------

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


def dashboard_url(name: str, tenant: Tenant, **kwargs: object) -> str:
    """The URL of dashboard page ``name`` in ``tenant`` (``kwargs``: the page's other URL arguments)."""
    from django.urls import reverse

    return reverse(f"dashboard:{name}", kwargs={"tenant_slug": tenant.slug, **kwargs})


# --- datasets and texts ---------------------------------------------------------------------------------

GOOD = b"text,label\n" + b"".join(
    f"message {i} about my card,{'card' if i % 2 else 'refund'}\n".encode() for i in range(30)
)


def named_csv(data: bytes, name: str) -> io.BytesIO:
    """``data`` as an uploadable file called ``name``."""
    stream = io.BytesIO(data)
    stream.name = name
    return stream


def upload(client, project, data: bytes, name: str = "train.csv", **fields):
    """Upload ``data`` as a dataset of ``project`` through the API."""
    return client.post(
        f"/api/v1/projects/{project.pk}/datasets/", {"file": named_csv(data, name), **fields}, format="multipart"
    )


def stored_files(tenant) -> list[str]:
    """Every file stored under ``tenant``'s folder."""
    root = f"tenants/{tenant.pk}"
    found: list[str] = []

    def walk(folder: str) -> None:
        if not default_storage.exists(folder):
            return
        dirs, files = default_storage.listdir(folder)
        found.extend(f"{folder}/{f}" for f in files)
        for d in dirs:
            walk(f"{folder}/{d}")

    walk(root)
    return found


def ready_dataset(project, **fields) -> Dataset:
    """A dataset row of ``project``, checked and ready (no file behind it); ``fields`` override."""
    values = {
        "name": "train.csv",
        "file": "x",
        "size_bytes": 1,
        "sha256": "0" * 64,
        "format": "csv",
        "text_column": "text",
        "label_column": "label",
        "status": DatasetStatus.READY,
        **fields,
    }
    return Dataset.all_tenants.create(tenant=project.tenant, project=project, **values)


# Uploads that cannot become a dataset, each with the error it must get.

GOOD_LINES = [f"message number {i} about cards,{'card' if i % 2 else 'refund'}" for i in range(20)]


def rows(*lines: str, header: str = "text,label") -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, mtime=0)


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


# --- training -------------------------------------------------------------------------------------------

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


# Toy tasks for the tiny BERT, which knows no language: separable by vocabulary alone, each label has its
# own words.

WORDS = {
    "food": ["pizza", "bread", "cheese", "soup", "apple", "rice"],
    "music": ["guitar", "piano", "song", "drum", "violin", "melody"],
    "sports": ["football", "goal", "tennis", "match", "team", "score"],
}
NAMES = sorted(WORDS)


def separable(n: int, seed: int = 0) -> tuple[list[str], list[tuple[str, ...]]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = NAMES[i % len(NAMES)]
        texts.append(" ".join(rng.choice(WORDS[label]) for _ in range(rng.randint(3, 9))))
        labels.append((label,))
    return texts, labels


def multi_labelled(n: int, seed: int = 0) -> tuple[list[str], list[tuple[str, ...]]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        chosen = sorted(rng.sample(NAMES, rng.choice([1, 1, 2])))
        words = [rng.choice(WORDS[label]) for label in chosen for _ in range(rng.randint(2, 4))]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(tuple(chosen))
    return texts, labels


def config(**overrides: object) -> engine.TrainConfig:
    """Engine settings for a small run on the CPU; ``overrides`` replace them."""
    values: dict[str, object] = {
        "epochs": 4,
        "learning_rate": 3e-3,
        "batch_size": 16,
        "early_stopping_patience": 0,
        "device": "cpu",
        "progress_interval_s": 0.0,
    }
    values.update(overrides)
    return engine.TrainConfig(**values)  # type: ignore[arg-type]


# Runs through the API on a real worker (the tests marked ``worker``).

TOY_WORDS = {"card": ["card", "visa", "plastic", "pin"], "refund": ["refund", "money", "back", "return"]}


def toy_csv(rows: int, seed: int = 0) -> bytes:
    """A task a tiny random BERT can learn: each label has its own words."""
    rng = random.Random(seed)
    lines = ["text,label"]
    for i in range(rows):
        label = "card" if i % 2 else "refund"
        lines.append(" ".join(rng.choice(TOY_WORDS[label]) for _ in range(6)) + f" {i},{label}")
    return ("\n".join(lines) + "\n").encode()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """The first truthy value of ``predicate()``, polled every 0.3 s; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def start_run(client, tenant, rows: int, **settings):
    """Upload a toy dataset of ``rows`` rows to a new project and start a run on the tiny base model."""
    project = ProjectFactory(tenant=tenant)
    dataset = client.post(
        f"/api/v1/projects/{project.pk}/datasets/", {"file": named_csv(toy_csv(rows), "toy.csv")}, format="multipart"
    ).json()
    assert dataset["status"] == "ready", dataset
    response = client.post(
        f"/api/v1/projects/{project.pk}/training-runs/",
        {"dataset_id": dataset["id"], "base_model": "tiny", **settings},
        format="json",
    )
    assert response.status_code == 202, response.content
    return response.json()


def get(client, run):
    """The run as the API shows it now."""
    return client.get(f"/api/v1/training-runs/{run['id']}/").json()


# --- serving --------------------------------------------------------------------------------------------


def model_version(tenant, project, n: int) -> ModelVersion:
    """Version ``n`` of ``project``, made by a succeeded run, with no artifact: to list, deploy, roll back."""
    run = TrainingRun.all_tenants.create(
        tenant=tenant, project=project, base_model="minilm-l6", status=RunStatus.SUCCEEDED
    )
    return ModelVersion.all_tenants.create(
        tenant=tenant,
        project=project,
        training_run=run,
        version=n,
        base_model="minilm-l6",
        method="full",
        artifact_path=f"m{n}",
        label_names=["a", "b"],
        metrics={"macro_f1": 0.5 + n / 10},
    )


# --- webhooks -------------------------------------------------------------------------------------------

# What every host name resolves to in the webhook tests (tests/webhooks/conftest.py): no test needs DNS.
PUBLIC_ADDRESS = "93.184.215.14"


def spec_signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """A Standard Webhooks signature, computed by the spec's own recipe (not by ``webhooks.signing``)."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed_content = f"{msg_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed_content, hashlib.sha256).digest()).decode()


def subscribe(tenant, code: str = "pro", *, stripe=None, customer: str | None = None, **fields) -> Subscription:
    """The tenant on plan ``code`` (saved, so cached plans are forgotten); with ``stripe`` (a FakeStripe), as
    a Stripe customer the fake knows (``customer``: its id)."""
    if stripe is not None:
        fields["stripe_customer_id"] = stripe.add_customer(customer)
    subscription, _ = Subscription.all_tenants.update_or_create(
        tenant=tenant, defaults={"plan": Plan.objects.get(code=code), **fields}
    )
    return subscription
