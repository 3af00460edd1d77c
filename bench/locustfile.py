"""Locust users for ``bench/cluster.py``: mixed API traffic spread over the cluster's web nodes.

Run by ``bench/cluster.py`` (``locust --headless``), never on its own: it reads the cluster from the
environment (``CLUSTER_NODES``: the nodes' base URLs, comma-separated; ``CLUSTER_KEY``, ``CLUSTER_PROJECT``,
``CLUSTER_MONITOR``), and writes the texts the server answered with 2xx (the predictions it must have
billed) to ``CLUSTER_COUNT_FILE`` when locust quits. One user class per node, equal weights, so the users
split evenly over them. A task is a failure on anything but 2xx: the load expects zero.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from typing import Any

from locust import FastHttpUser, between, events, task

NODES = [node for node in os.environ.get("CLUSTER_NODES", "http://127.0.0.1:1").split(",") if node]
KEY = os.environ.get("CLUSTER_KEY", "")
PROJECT = os.environ.get("CLUSTER_PROJECT", "")
MONITOR = os.environ.get("CLUSTER_MONITOR", "")
COUNT_FILE = os.environ.get("CLUSTER_COUNT_FILE", "")

WORDS = ["pizza", "bread", "cheese", "guitar", "piano", "song", "football", "goal", "tennis", "soup", "drum"]
served = {"predict": 0, "monitor": 0}


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))


class _Node(FastHttpUser):
    abstract = True
    wait_time = between(0.05, 0.25)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.auth = {"Authorization": f"Api-Key {KEY}"}
        self.reads = itertools.cycle(
            [
                ("read usage", "/api/v1/usage/"),
                ("read models", f"/api/v1/projects/{PROJECT}/models/"),
                ("read runs", f"/api/v1/projects/{PROJECT}/training-runs/"),
            ]
        )

    def _post(self, name: str, path: str, body: dict[str, Any], texts: int, kind: str) -> None:
        with self.client.post(path, json=body, headers=self.auth, name=name, catch_response=True) as response:
            if 200 <= (response.status_code or 0) < 300:
                served[kind] += texts
                response.success()
            else:
                response.failure(f"{response.status_code} {(response.text or '')[:200]}")

    @task(10)
    def predict_1(self) -> None:
        self._post("predict 1 text", f"/api/v1/projects/{PROJECT}/predict/", {"texts": [_text(self.rng)]}, 1, "predict")

    @task(2)
    def predict_64(self) -> None:
        texts = [_text(self.rng) for _ in range(64)]
        self._post("predict 64 texts", f"/api/v1/projects/{PROJECT}/predict/", {"texts": texts}, 64, "predict")

    @task(3)
    def monitor_events(self) -> None:
        events_ = [{"text": _text(self.rng), "source": "locust"} for _ in range(4)]
        self._post("monitor 4 events", f"/api/v1/monitors/{MONITOR}/events/", {"events": events_}, 4, "monitor")

    @task(3)
    def read(self) -> None:
        name, path = next(self.reads)
        with self.client.get(path, headers=self.auth, name=name, catch_response=True) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"{response.status_code} {(response.text or '')[:200]}")


class NodeA(_Node):
    host = NODES[0]


class NodeB(_Node):
    host = NODES[-1]


@events.quitting.add_listener
def _write_counts(environment: Any, **kwargs: Any) -> None:
    if COUNT_FILE:
        with open(COUNT_FILE, "w") as out:
            json.dump(served, out)
