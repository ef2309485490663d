"""PostgreSQL restarted under load (issue 9): writers and the webhook intake keep going.

A private server (not the session's shared one) is restarted (``pg_ctl restart -m fast``)
while three clients PUT documents and a fourth posts webhook notifications. Requests caught by
the restart get a coded 503 (``[NLP503]``) and are retried by their client; afterwards every
acknowledged document reads back enriched, generated resources exist once per document, every
notification is processed by the intake worker, and the service needed no restart: it
reconnected by itself.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from cli.bench.pgserver import ServerUnavailable, TempServer
from tests.api.conftest import make_settings
from tests.api.nlp_data import RESULTS, STREP_TEXT, document
from tests.fakes import FakeEngine

WRITERS = 3
DOCS_PER_WRITER = 12
NOTIFICATIONS = 8


@pytest.fixture
def server() -> Iterator[TempServer]:
    try:
        pg = TempServer().start()
    except ServerUnavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        yield pg
    finally:
        pg.stop()


def restart(pg: TempServer) -> None:
    log = str(pg.root / "server.log")  # (without -l the new postmaster keeps our pipes open)
    pg._run(str(pg.bin / "pg_ctl"), "-D", str(pg.data), "-l", log, "-m", "fast", "-w", "restart")


def persist(send: Any, outcomes: Counter[str], *, tries: int = 200) -> int:
    """Send until the service accepts; a 5xx must be a coded OperationOutcome (then retry)."""
    for _ in range(tries):
        response = send()
        if response.status_code < 500:
            return int(response.status_code)
        outcomes[f"{response.status_code}"] += 1
        assert response.json()["issue"][0]["diagnostics"][:5] == "[NLP5"
        time.sleep(0.1)
    raise AssertionError("the service never recovered")


def test_restart_under_load_loses_nothing(server: TempServer) -> None:
    settings = make_settings(db_path=server.url(), intake_workers=1, intake_backoff_s=0.2)
    app = create_app(settings, engine=FakeEngine(RESULTS))
    outcomes: Counter[str] = Counter()
    acknowledged: list[str] = []
    lock = threading.Lock()
    with TestClient(app, raise_server_exceptions=False) as client:

        def writer(w: int) -> None:
            for i in range(DOCS_PER_WRITER):
                doc_id = f"w{w}-{i}"
                doc = document(STREP_TEXT, doc_id=doc_id, patient=f"p{w}")
                status = persist(
                    lambda d=doc_id, body=doc: client.put(f"/DocumentReference/{d}", json=body),
                    outcomes,
                )
                assert status in (200, 201)
                with lock:
                    acknowledged.append(doc_id)

        def notifier() -> None:
            for i in range(NOTIFICATIONS):
                doc = document(STREP_TEXT, doc_id=f"hook-{i}", patient="p9")
                assert persist(lambda body=doc: client.post("/webhook", json=body), outcomes) == 202
                time.sleep(0.05)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
        threads.append(threading.Thread(target=notifier))
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < WRITERS * 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        restart(server)  # under load: writes and notifications in flight
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)

        def drained() -> bool:
            queue = client.get("/status").json()["queue"]
            return bool(queue["depth"] == 0)

        deadline = time.monotonic() + 60
        while not drained():
            assert time.monotonic() < deadline, client.get("/status").json()
            time.sleep(0.2)
        status = client.get("/status").json()
        assert client.get("/readyz").status_code == 200  # reconnected without a restart
        expected = [f"w{w}-{i}" for w in range(WRITERS) for i in range(DOCS_PER_WRITER)]
        assert sorted(acknowledged) == sorted(expected)
        for doc_id in [*expected, *(f"hook-{i}" for i in range(NOTIFICATIONS))]:
            read = client.get(f"/DocumentReference/{doc_id}")
            assert read.status_code == 200, doc_id  # no loss
            assert read.json()["meta"]["versionId"] in ("1", "2"), doc_id
            derived = client.get(
                "/Condition", params={"derived-from": f"DocumentReference/{doc_id}"}
            ).json()
            assert derived["total"] == 2, doc_id  # the note's findings, once each
    assert status["queue"]["dead"] == 0
    assert status["queue"]["done"] == NOTIFICATIONS
