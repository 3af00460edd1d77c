"""The helpers of ``bench/cluster.py`` that its verdicts rest on (the cluster itself runs in ``.ci/run``)."""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cluster():
    spec = importlib.util.spec_from_file_location("bench_cluster", ROOT / "bench" / "cluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_cluster"] = module
    spec.loader.exec_module(module)
    return module


def echo_server() -> int:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            conn, _ = server.accept()
            with conn:
                while data := conn.recv(1024):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return int(server.getsockname()[1])


def round_trip(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"ping")
        return sock.recv(1024)


def test_the_storage_proxy_forwards_refuses_while_down_and_forwards_again(cluster):
    proxy = cluster.StorageProxy(echo_server())
    proxy.up()
    assert round_trip(proxy.port) == b"ping"

    proxy.down()
    with pytest.raises(ConnectionRefusedError):
        round_trip(proxy.port)

    proxy.up()
    assert round_trip(proxy.port) == b"ping"
    proxy.down()


def test_locust_stats_are_read_per_request_kind(cluster, tmp_path):
    stats = tmp_path / "locust_stats.csv"
    stats.write_text(
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
        "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
        "99.99%,100%\n"
        "POST,predict 1 text,646,0,500,560,20,3000,300,23.0,0.0,500,600,700,800,900,1000,1200,1400,2900,3000,3000\n"
        ",Aggregated,1110,2,540,600,20,4000,300,39.5,0.1,540,650,700,800,900,1100,2000,3100,3900,4000,4000\n"
    )

    rows = cluster.locust_stats(stats)

    assert [(r["name"], r["requests"], r["failures"], r["p50"], r["p99"]) for r in rows] == [
        ("predict 1 text", 646, 0, 500.0, 1400.0),
        ("Aggregated", 1110, 2, 540.0, 3100.0),
    ]


def test_no_answer_is_told_apart_from_an_error_answer(cluster):
    assert [cluster.status_class(s) for s in (200, 429, 503, None)] == ["2xx", "4xx", "5xx", "conn"]


def test_the_toy_dataset_has_three_balanced_labels_and_no_duplicate_rows(cluster):
    lines = cluster.toy_csv(300, seed=1).decode().splitlines()

    assert lines[0] == "text,label"
    labels = [line.rsplit(",", 1)[1] for line in lines[1:]]
    assert {label: labels.count(label) for label in set(labels)} == {"food": 100, "music": 100, "sports": 100}
    assert len(set(lines)) == len(lines)
