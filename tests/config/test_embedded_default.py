"""`make run`'s path on the embedded default: no DATABASE_URL, no REDIS_URL, nothing but Python."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, key: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Api-Key {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    # No .env either: a developer's could name a database or a broker, and this is the path with none.
    env.update(DEBUG="1", TUNEBASE_VAR_DIR=str(tmp_path / "var"), TUNEBASE_ENV_FILE="")
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_seeded_demo_serves_api_with_worker_and_stops_cleanly_on_ctrl_c(embedded_env):
    _manage(embedded_env, "migrate", "--noinput")
    port = _free_port()
    seeded = _manage(embedded_env, "seed_demo", "--url", f"http://127.0.0.1:{port}")
    key = re.search(r"API key\s+(\S+)", seeded).group(1)
    assert "demo@tunebase.local" in seeded

    server = subprocess.Popen(
        [sys.executable, "manage.py", "devserver", "--addr", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=embedded_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.5)
        status, body = _get(f"http://127.0.0.1:{port}/api/v1/projects/", key)
        assert status == 200
        assert [p["name"] for p in body["results"]] == ["Support intents"]
        assert _manage(embedded_env, "ping_worker", "--timeout", "60").startswith("worker ok")

        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        assert server.wait(timeout=40) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    # Nothing left behind in its process group: no web server, worker or pool child.
    deadline = time.monotonic() + 15
    left = ""
    while time.monotonic() < deadline:
        left = (
            subprocess.run(
                ["ps", "-o", "pid,stat,args", "-g", str(server.pid)], capture_output=True, text=True, check=False
            )
            .stdout.strip()
            .partition("\n")[2]
        )
        if not left:
            break
        time.sleep(0.5)
    assert left == ""


def test_a_second_seed_revokes_the_previous_demo_key(embedded_env):
    _manage(embedded_env, "migrate", "--noinput")
    first = re.search(r"API key\s+(\S+)", _manage(embedded_env, "seed_demo")).group(1)
    second = re.search(r"API key\s+(\S+)", _manage(embedded_env, "seed_demo")).group(1)

    assert first != second
    check = (
        "from tenants.services import api_key_authenticate as a, ApiKeyRejected as R\n"
        f"a({second!r})\n"
        f"try:\n    a({first!r})\nexcept R as e:\n    print(e.message)\n"
    )
    assert "revoked" in _manage(embedded_env, "shell", "-c", check)
