from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the dashboard and API with a Celery worker (and its scheduler) beside it. Ctrl-C stops both."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args: Any, addr: str, **options: Any) -> None:
        worker = _start_worker()
        web = subprocess.Popen([sys.executable, "manage.py", "runserver", addr, "--noreload"])
        children = {"worker": worker, "web": web}
        exited = _wait_for_signal_or_exit(children)
        if exited:
            self.stderr.write(f"The {exited} process exited (code {children[exited].returncode}); stopping.")
        _stop(children, worker)
        self.stderr.write("Stopped web server and worker.")
        if exited:
            sys.exit(1)


def _start_worker() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "--schedule",
            str(settings.VAR_DIR / "celerybeat-schedule"),
            "-Q",
            "default,training,webhooks",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
        ],
        # Its own process group: stopping it can take its pool children too (a training task's among them).
        start_new_session=True,
    )


def _wait_for_signal_or_exit(children: dict[str, subprocess.Popen[bytes]]) -> str | None:
    """Wait for Ctrl-C (or SIGTERM) or for a child to exit; the name of the child that exited, if one did."""
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exited = None
    while not stopping and exited is None:
        exited = next((name for name, child in children.items() if child.poll() is not None), None)
        time.sleep(0.3)
    return exited


def _stop(children: dict[str, subprocess.Popen[bytes]], worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM to every child still running; whatever is left after 20 s is killed, the worker's group too."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            # Still busy (a long training): kill it; the run resumes from its last checkpoint next time.
            if child is worker:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.pid, signal.SIGKILL)
            child.kill()
            child.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)  # any pool child left behind
