"""POST /webhook and GET /status: payload shapes, durability before the 2xx, secret, summaries."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import errors
from api.intake.notifications import NotificationError, parse_notification
from api.intake.queue import IntakeQueue
from api.routes import status as status_routes
from api.routes import webhook as webhook_routes
from api.settings import Settings
from api.store.sqlite import Database
from tests.webhook.conftest import document

BASE = "http://fhir.example/r4/"


def status_params(
    kind: str = "event-notification", focus: list[str] | None = None
) -> dict[str, Any]:
    parameter: list[dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": "Subscription/s1"}},
        {"name": "status", "valueCode": "active"},
        {"name": "type", "valueCode": kind},
    ]
    for ref in focus or []:
        parameter.append(
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": "1"},
                    {"name": "focus", "valueReference": {"reference": ref}},
                ],
            }
        )
    return {"resourceType": "Parameters", "parameter": parameter}


def bundle(
    *entries: dict[str, Any], kind: str = "event-notification", focus: list[str] | None = None
) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": status_params(kind, focus)}, *entries],
    }


# ---- parsing ---------------------------------------------------------------------------------
def test_r4_rest_hook_body_is_the_resource() -> None:
    p = parse_notification(document())
    assert p.kind == "resource"
    (n,) = p.notices
    assert (n.resource_id, n.version_id, n.source) == ("doc-1", "1", "rest-hook")
    assert n.resource == document()


def test_backport_full_resource() -> None:
    doc = document()
    p = parse_notification(
        bundle({"fullUrl": BASE + "DocumentReference/doc-1/_history/1", "resource": doc})
    )
    assert p.kind == "event"
    assert [(n.resource_id, n.version_id, n.source) for n in p.notices] == [
        ("doc-1", "1", "backport-full")
    ]


def test_backport_id_only_by_full_url_or_request_url() -> None:
    p = parse_notification(
        bundle(
            {"fullUrl": BASE + "DocumentReference/a/_history/7"},
            {"request": {"method": "PUT", "url": "DocumentReference/b"}},
            {"fullUrl": BASE + "Patient/p1"},
        )
    )
    assert [(n.resource_id, n.version_id, n.resource, n.source) for n in p.notices] == [
        ("a", "7", None, "backport-id-only"),
        ("b", None, None, "backport-id-only"),
    ]
    assert p.ignored == 1


def test_focus_reference_used_when_no_entry_names_it() -> None:
    p = parse_notification(bundle(focus=["DocumentReference/x/_history/2"]))
    assert [(n.resource_id, n.version_id) for n in p.notices] == [("x", "2")]
    # named by both the focus and an entry: once
    p = parse_notification(
        bundle(
            {"fullUrl": BASE + "DocumentReference/x/_history/2"},
            focus=["DocumentReference/x/_history/2"],
        )
    )
    assert len(p.notices) == 1


def test_r5_subscription_status_resource_and_heartbeats() -> None:
    r5 = {
        "resourceType": "Bundle",
        "type": "subscription-notification",
        "entry": [
            {
                "resource": {
                    "resourceType": "SubscriptionStatus",
                    "type": "event-notification",
                    "notificationEvent": [
                        {"eventNumber": 3, "focus": {"reference": "DocumentReference/r5"}}
                    ],
                }
            },
        ],
    }
    assert [n.resource_id for n in parse_notification(r5).notices] == ["r5"]
    for kind in ("heartbeat", "handshake", "query-status"):
        p = parse_notification(bundle(kind=kind))
        assert p.kind == kind
        assert p.notices == []
    assert parse_notification(None).kind == "ping"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([1, 2], "NLP601"),
        ({"no": "type"}, "NLP601"),
        ({"resourceType": "DocumentReference", "status": "current"}, "NLP602"),
        ({"resourceType": "Bundle", "type": "transaction", "entry": []}, "NLP603"),
    ],
)
def test_unusable_bodies_are_coded(body: Any, code: str) -> None:
    with pytest.raises(NotificationError, match=code):
        parse_notification(body)


# ---- the route -------------------------------------------------------------------------------
def make_client(tmp_path: Path, **settings: Any) -> tuple[TestClient, IntakeQueue]:
    app = FastAPI()
    errors.install(app)
    app.include_router(webhook_routes.router)
    app.include_router(status_routes.router)
    app.state.settings = Settings(db_path=str(tmp_path / "svc.sqlite"), **settings)
    app.state.db = Database(tmp_path / "svc.sqlite")
    queue = IntakeQueue(app.state.db)
    app.state.intake = queue
    return TestClient(app), queue


def test_accepts_persists_then_answers_202(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    r = client.post(
        "/webhook",
        json=bundle({"resource": document()}),
        headers={"Content-Type": "application/fhir+json"},
    )
    assert r.status_code == 202
    assert r.json()["accepted"] == 1
    assert r.json()["kind"] == "event"
    # durable: a fresh connection to the file (a restarted process) sees it
    rows = list(IntakeQueue(Database(tmp_path / "svc.sqlite")).rows())
    assert [(x["resource_id"], x["state"], x["source"]) for x in rows] == [
        ("doc-1", "pending", "backport-full")
    ]


def test_same_notification_three_times_is_queued_once(tmp_path: Path) -> None:
    client, queue = make_client(tmp_path)
    body = bundle({"resource": document()})
    codes = [client.post("/webhook", json=copy.deepcopy(body)).status_code for _ in range(3)]
    assert codes == [202, 200, 200]
    assert len(list(queue.rows())) == 1
    assert client.get("/status").json()["duplicates_dropped"] == 2


def test_heartbeat_and_handshake_are_acknowledged_and_ignored(tmp_path: Path) -> None:
    client, queue = make_client(tmp_path)
    for kind in ("heartbeat", "handshake"):
        r = client.post("/webhook", json=bundle(kind=kind))
        assert r.status_code == 200
        assert r.json()["status"] == "ignored"
    assert client.post("/webhook", content=b"").status_code == 200
    assert list(queue.rows()) == []


def test_bad_bodies_get_operation_outcomes(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    r = client.post("/webhook", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["resourceType"] == "OperationOutcome"
    assert r.json()["issue"][0]["diagnostics"].startswith("[NLP601]")
    r = client.post("/webhook", json={"resourceType": "Bundle", "type": "batch"})
    assert r.status_code == 400
    assert "[NLP603]" in r.json()["issue"][0]["diagnostics"]


def test_shared_secret_is_required_when_configured(tmp_path: Path) -> None:
    client, queue = make_client(tmp_path, webhook_secret="s3cret-0123456789abc")
    body = bundle({"resource": document()})
    assert client.post("/webhook", json=body).status_code == 401
    assert (
        client.post("/webhook", json=body, headers={"X-Webhook-Secret": "wrong"}).status_code == 401
    )
    assert list(queue.rows()) == []  # nothing persisted without the secret
    assert (
        client.post(
            "/webhook", json=body, headers={"X-Webhook-Secret": "s3cret-0123456789abc"}
        ).status_code
        == 202
    )
    other = bundle({"resource": document("doc-2")})
    assert (
        client.post(
            "/webhook", json=other, headers={"Authorization": "Bearer s3cret-0123456789abc"}
        ).status_code
        == 202
    )


def test_exposed_binding_without_secret_is_refused(tmp_path: Path) -> None:
    from api.settings import SettingsError

    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        Settings(host="0.0.0.0", api_tokens=["token-t-0123456789"]).check_exposure()
    # and should it run anyway, the webhook refuses to work without a secret
    client, queue = make_client(tmp_path, host="0.0.0.0", api_tokens=["token-t-0123456789"])
    r = client.post("/webhook", json=document())
    assert r.status_code == 403
    assert "[NLP605]" in r.json()["issue"][0]["diagnostics"]
    assert list(queue.rows()) == []


def test_status_reports_queue_figures(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    client.post("/webhook", json=document("a"))
    client.post("/webhook", json=document("b"))
    s = client.get("/status").json()
    assert s["queue"]["pending"] == 2
    assert s["queue"]["depth"] == 2
    assert s["queue"]["oldest_pending_age_s"] >= 0
    assert set(s["throughput"]) == {"last_60s", "last_300s"}
    assert s["failures"] == {"failed_attempts": 0, "dead_letters": 0}
    assert client.get("/status/dead-letters").json() == {"dead_letters": []}


def test_status_needs_the_api_token_when_configured(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path, api_tokens=["token-0123456789abcdef"])
    assert client.get("/status").status_code == 401
    assert (
        client.get(
            "/status", headers={"Authorization": "Bearer token-0123456789abcdef"}
        ).status_code
        == 200
    )
    # the webhook is not behind the API token (it has its own shared secret)
    assert client.post("/webhook", json=document()).status_code == 202
