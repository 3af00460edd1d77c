from __future__ import annotations

import time
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeout
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.celery import ping


class Command(BaseCommand):
    help = "Send a task through the broker to a worker and back; prints the round-trip time."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args: Any, timeout: float, **options: Any) -> None:
        started = time.time()
        try:
            result = ping.delay(started).get(timeout=timeout)
        except CeleryTimeout:
            raise CommandError(f"No worker answered within {timeout:.0f} s: is a worker running?") from None
        if not result.get("database"):
            raise CommandError("The worker answered but could not query the database.")
        self.stdout.write(f"worker ok: round trip {time.time() - started:.2f} s")
