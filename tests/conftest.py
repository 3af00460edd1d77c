from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from billing import stripe_api
from projects.models import Project
from tenants import lookups
from tenants.models import Membership, Role, Tenant
from tests.billing.fake_stripe import PRICES, WEBHOOK_SECRET, FakeStripe
from tests.factories import MembershipFactory, ProjectFactory, TenantFactory, UserFactory, make_api_key

ROOT = Path(__file__).resolve().parent.parent

# --- a real browser (tests/test_browser_journey.py, tests/test_layout_browser.py) ---

# Debian's package (``apt-get install chromium``); ``TUNEBASE_CHROMIUM`` names another binary.
CHROMIUM = Path(os.environ.get("TUNEBASE_CHROMIUM") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium reaches for Google's services, and a closed network refuses its connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_BROWSER = os.environ.get("TUNEBASE_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes", "on"}
SCREENSHOTS = ROOT / "var" / "e2e"  # the browser tests' screenshots


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The browser's binary (skips, or fails under TUNEBASE_REQUIRE_BROWSER, without it); list it first of a
    test's fixtures, so that a skip starts no worker."""
    if not CHROMIUM.is_file():
        message = f"Chromium is absent at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
        if REQUIRE_BROWSER:
            pytest.fail(f"{message}, and TUNEBASE_REQUIRE_BROWSER is set")
        pytest.skip(message)
    return CHROMIUM


# --- side by side (pytest -n): each pytest-xdist worker process on its own ------------------------------


def _xdist_worker(config: pytest.Config) -> str | None:
    return getattr(config, "workerinput", {}).get("workerid")


def pytest_configure(config: pytest.Config) -> None:
    """Under ``pytest -n``, each worker process has its own test database (pytest-django names it
    ``<name>_gw0``...) and, from here, its own media, training and model folders and its own cache: rows
    of different processes share ids (a file under a run's id, an API key's rate-limit counter), so
    nothing keyed by them may be shared."""
    worker = _xdist_worker(config)
    if worker is None:
        return
    import torch
    from django.conf import settings
    from django.test.utils import override_settings

    # The processes share the cores: torch's default (a thread per core, each) would oversubscribe them.
    workers = int(config.workerinput.get("workercount", 1))  # type: ignore[attr-defined]
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))

    own = Path(settings.VAR_DIR) / "xdist" / worker
    cache = dict(settings.CACHES["default"])
    if cache["BACKEND"].endswith("FileBasedCache"):
        cache["LOCATION"] = str(own / "cache")
    else:  # Redis, one database for all: a key prefix of its own
        cache["KEY_PREFIX"] = f"{cache.get('KEY_PREFIX', '')}-{worker}"
    override_settings(
        MEDIA_ROOT=own / "media",
        TRAINING_WORK_DIR=own / "training",
        INFERENCE_ARTIFACT_DIR=own / "models",
        CACHES={**settings.CACHES, "default": cache},
    ).enable()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """``TUNEBASE_TEST_DB_SUFFIX=name`` (``make test`` sets it for the tests with real Celery workers): a
    test database of this run's own, beside another pytest run on the same database server."""
    suffix = os.environ.get("TUNEBASE_TEST_DB_SUFFIX")
    if not suffix:
        return
    from django.conf import settings

    for database in settings.DATABASES.values():
        test = database.setdefault("TEST", {})
        test["NAME"] = f"{test.get('NAME') or 'test_' + str(database['NAME'])}_{suffix}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A real Celery worker takes any task on its broker, queued by tests of any process: under ``pytest -n``
    the tests that start one skip, saying so; ``make test`` runs them in a pytest process of their own."""
    if _xdist_worker(config) is None:
        return
    skip = pytest.mark.skip(reason="starts a real Celery worker: run it without -n (make test does, beside the rest)")
    for item in items:
        if item.get_closest_marker("worker") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _operator_view_for_test_setup(request: pytest.FixtureRequest) -> None:
    """Let the test's own set-up write to every tenant on PostgreSQL, as an operator would.

    Requests made through the test clients still run under the tenant context that the middleware,
    the dashboard views and the API authentication set, so row-level security is exercised there.
    """
    uses_db = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db"} & set(request.fixturenames)
    )
    if not uses_db:
        return
    request.getfixturevalue("_django_db_helper")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.bypass_rls', 'on', false)")


# --- cross-tenant tests without row-level security --------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """On PostgreSQL, row-level security hides a view that forgot its tenant filter: every test that takes
    ``other_tenant`` (the cross-tenant tests) runs twice there, once as production runs and once with
    row-level security off (``[no-rls]``), so that the application's own scoping must hold on its own, as
    it must on SQLite. Tests of row-level security itself (``postgres_only``) run once."""
    if "other_tenant" not in metafunc.fixturenames or metafunc.definition.get_closest_marker("postgres_only"):
        return
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        metafunc.parametrize("row_level_security", [True, False], indirect=True, ids=["rls", "no-rls"])


@pytest.fixture(autouse=True)
def row_level_security(request: pytest.FixtureRequest) -> Iterator[bool]:
    """Whether PostgreSQL's row-level security is on for this test (see ``pytest_generate_tests``)."""
    on: bool = getattr(request, "param", True)
    if on or connection.vendor != "postgresql":
        yield True
        return
    request.getfixturevalue("_django_db_helper")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(relname) FROM pg_class WHERE relkind = 'r' AND relrowsecurity"
            " AND relnamespace = current_schema()::regnamespace"
        )
        tables = [str(row[0]) for row in cursor.fetchall()]
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    yield False
    if not connection.in_atomic_block:  # a transactional test: nothing rolls the change back
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Tests make many users; the production hasher's deliberate slowness would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_lookups() -> Iterator[None]:
    """Each test starts with empty per-process lookup caches: the database it sees is new."""
    lookups.clear_all()
    yield
    lookups.clear_all()


class FakeClock:
    """A monotonic clock that stands still until the test moves it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def lookup_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The clock the serving lookups (``tenants.lookups``) expire their entries by, frozen for this test:
    ``lookup_clock.advance(seconds)`` moves it. Only that module's clock: time-machine cannot move
    ``time.monotonic``, and moving it for the whole process would move Django's and the batcher's too."""
    clock = FakeClock()
    monkeypatch.setattr(lookups, "time", SimpleNamespace(monotonic=clock))
    return clock


# --- the public datasets beside the checkout ---------------------------------------------------------------

SHARED_DATASETS = Path(os.environ.get("TUNEBASE_SHARED_DATASETS") or ROOT.parent / "shared" / "datasets")
# CI sets it (.ci/run): there a missing folder is a failure, not a skip.
REQUIRE_SHARED_DATASETS = os.environ.get("TUNEBASE_REQUIRE_SHARED_DATASETS", "").strip().lower() in {
    "1",
    "true",
    "yes",
    "on",
}


@pytest.fixture
def shared_datasets() -> Path:
    """The public datasets folder (``../shared/datasets``, or ``TUNEBASE_SHARED_DATASETS``). A checkout
    without it skips the test, saying so; with ``TUNEBASE_REQUIRE_SHARED_DATASETS=1`` (CI) it fails."""
    if not SHARED_DATASETS.is_dir():
        message = (
            f"the public datasets folder {SHARED_DATASETS} is absent (it sits beside the checkout, not in it; "
            "TUNEBASE_SHARED_DATASETS names another place)"
        )
        if REQUIRE_SHARED_DATASETS:
            pytest.fail(f"{message}, and TUNEBASE_REQUIRE_SHARED_DATASETS is set")
        pytest.skip(message)
    return SHARED_DATASETS


# --- tenants and people -----------------------------------------------------------------------------


@pytest.fixture
def tenant(db: None) -> Tenant:
    return TenantFactory(name="Acme Support", slug="acme")


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return TenantFactory(name="Globex", slug="globex")


@pytest.fixture
def member_of(db: None) -> Callable[..., Membership]:
    """``member_of(tenant, role)``: a new user with that role in that tenant."""

    def make(tenant: Tenant, role: str = Role.MEMBER, **user_fields: Any) -> Membership:
        return MembershipFactory(tenant=tenant, role=role, user=UserFactory(**user_fields))

    return make


@pytest.fixture
def owner(tenant: Tenant, member_of: Callable[..., Membership]) -> Membership:
    return member_of(tenant, Role.OWNER)


# --- API ----------------------------------------------------------------------------------------------


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def key_client(db: None) -> Callable[..., APIClient]:
    """``key_client(tenant, scopes=..., project=...)``: an API client sending a fresh real key."""

    def make(tenant: Tenant, **kwargs: Any) -> APIClient:
        _, secret = make_api_key(tenant, **kwargs)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        return client

    return make


# --- a real Celery worker -------------------------------------------------------------------------------


def _database_url_of_test_db() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or ""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random BERT registered as base model ``tiny``, here and in every worker the tests start."""
    from django.conf import settings

    from tests.factories import make_tiny_bert

    path = make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))
    settings.TUNEBASE_BASE_MODELS = {**settings.TUNEBASE_BASE_MODELS, "tiny": str(path)}
    os.environ["TUNEBASE_BASE_MODELS"] = f"tiny={path}"
    return "tiny"


class Worker:
    """A real Celery worker process (its own session, so that kill() takes its pool children too)."""

    def __init__(self, name: str, database_url: str) -> None:
        from django.conf import settings

        self.hostname = f"{name}@{socket.gethostname()}"
        self.log_path = settings.VAR_DIR / f"{name}.log"
        env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1", "TRAINING_PROGRESS_INTERVAL_S": "0.5"}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-Q",
                    "default,training,webhooks",
                    "--concurrency",
                    "1",
                    "--pool",
                    "prefork",
                    "--loglevel",
                    "INFO",
                    "--hostname",
                    self.hostname,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_until_ready()

    def wait_until_ready(self, timeout: float = 60) -> None:
        from config.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited early; see {self.log_path}")
            if app.control.ping(destination=[self.hostname], timeout=1.0):
                return
        self.kill()
        raise RuntimeError(f"Celery worker did not answer within {timeout:.0f} s; see {self.log_path}")

    def kill(self) -> None:
        """As a machine dying would: SIGKILL to the worker and its pool, no chance to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        """Gone at once: a warm shutdown (SIGTERM) takes a prefork worker 6-7 s here, and nothing after it
        needs one (the next ``start_worker`` purges the broker before its worker starts)."""
        if self.process.poll() is None:
            self.kill()


@pytest.fixture(scope="module")
def start_worker(
    django_db_setup: None, django_db_blocker: Any, tiny_base_model: str
) -> Iterator[Callable[[str], Worker]]:
    """``start_worker(name)``: a real worker on the configured broker (Redis in CI, the filesystem broker
    locally), connected to the test database; stopped at the end of the module. Tests using one need
    ``transactional_db`` so that the worker sees their rows."""
    from config.celery import app

    with django_db_blocker.unblock():
        database_url = _database_url_of_test_db()
    app.control.purge()
    started: list[Worker] = []

    def start(name: str) -> Worker:
        worker = Worker(name, database_url)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="module")
def celery_worker_process(start_worker: Callable[[str], Worker]) -> Worker:
    return start_worker("test-worker")


# --- dashboard pages ------------------------------------------------------------------------------------


@pytest.fixture
def project(tenant: Tenant) -> Project:
    return ProjectFactory(tenant=tenant, name="Intents")


@pytest.fixture
def signed_in(client: Client) -> Callable[[Membership], Client]:
    """``signed_in(membership)``: the test client, logged in as that member's user."""

    def sign_in(membership: Membership) -> Client:
        client.force_login(membership.user)
        return client

    return sign_in


@pytest.fixture
def own_cache(settings: Any) -> None:
    """allauth's rate limits (one confirmation mail per address per 3 minutes...) live in the cache:
    a fresh one per test keeps one test's mails and attempts from throttling the next."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(uuid.uuid4())}
    }


# --- billing ----------------------------------------------------------------------------------------------


@pytest.fixture
def plans(db: None) -> None:
    """Free, Pro and Scale as the data migration seeds them. A test database that a transactional test
    flushed has lost the migration's rows, so tests that need the plans seed them again."""
    from django.apps import apps

    importlib.import_module("billing.migrations.0002_plans").seed_plans(apps)


@pytest.fixture
def fake_stripe(settings: Any) -> Iterator[FakeStripe]:
    """Stripe on, talking through the real library to a fake Stripe (tests/billing/fake_stripe.py)."""
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PRICES = PRICES
    fake = FakeStripe()
    stripe_api.use_http_client(fake)
    yield fake
    stripe_api.use_http_client(None)


@pytest.fixture
def run_tasks() -> Iterator[None]:
    """Celery tasks run in the process that queues them, as a worker would run them."""
    from config.celery import app as celery_app

    before = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = before


# --- sign-ins as allauth records them; operators with a second factor --------------------------------------


def totp_code(user: Any) -> str:
    """The current code of the user's authenticator app (as the app on their phone would show it)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
    from allauth.mfa.utils import decrypt

    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    counter = next(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(decrypt(authenticator.data["secret"]), counter))


def give_authenticator(user: Any) -> Any:
    """Activates a TOTP authenticator, with recovery codes, for the user through allauth, as its setup page does."""
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    authenticator = TOTP.activate(user, generate_totp_secret()).instance
    RecoveryCodes.activate(user)
    return authenticator


def record_sign_in(client: Client, user: Any) -> None:
    """Writes into the client's session what allauth's login writes there: the password step and, for a
    user with an authenticator (allauth's login asks for it then), the second step."""
    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.models import Authenticator

    session = client.session
    request = SimpleNamespace(session=session)
    record_authentication(request, user, method="password", email=user.email)  # type: ignore[arg-type]
    for authenticator in Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP):
        record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)  # type: ignore[arg-type]
    session.save()


@pytest.fixture(autouse=True)
def _force_login_signs_in_as_allauth_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """``client.force_login(user)`` leaves the session as a real login through allauth would: recent
    enough for the actions that need re-authentication, and past the second step for a user with one."""
    login = Client._login

    def _login(self: Client, user: Any, backend: str | None = None) -> None:
        login(self, user, backend)
        record_sign_in(self, user)

    monkeypatch.setattr(Client, "_login", _login)


@pytest.fixture
def operator(db: None) -> Any:
    """A superuser (staff) with a TOTP authenticator: signed in with ``force_login``, the admin opens."""
    user = UserFactory(is_staff=True, is_superuser=True)
    give_authenticator(user)
    return user


@pytest.fixture
def admin_user(operator: Any) -> Any:
    """pytest-django's ``admin_client`` signs in as this user: an operator with a second factor."""
    return operator
