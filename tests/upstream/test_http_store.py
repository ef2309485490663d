"""HttpFhirStore against httpx.MockTransport: retries, Retry-After, 4xx outcomes, paging, writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from api.store.http import BearerAuth, HttpFhirStore, RetryPolicy, UpstreamError

BASE = "https://fhir.test/r4/"
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A scripted fake FHIR server: records requests, answers from a list then a default."""

    def __init__(self, script: list[httpx.Response], default: Handler | None = None) -> None:
        self.script = script
        self.default = default
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            return self.script.pop(0)
        if self.default is None:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        return self.default(request)


def make_store(rec: Recorder, **kw: Any) -> tuple[HttpFhirStore, list[float]]:
    sleeps: list[float] = []
    client = httpx.Client(transport=httpx.MockTransport(rec))
    store = HttpFhirStore(
        BASE,
        client,
        kw.pop("auth", None),
        sleep=sleeps.append,
        retry=kw.pop("retry", RetryPolicy(attempts=4, base_s=0.5, max_wait_s=4)),
        **kw,
    )
    return store, sleeps


def outcome(code: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }


DOC = {"resourceType": "DocumentReference", "id": "d1", "status": "current"}


def test_read_retries_429_honouring_retry_after_then_succeeds() -> None:
    rec = Recorder(
        [
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(503),
            httpx.Response(200, json=DOC),
        ]
    )
    store, sleeps = make_store(rec)
    assert store.read("DocumentReference", "d1") == DOC
    assert len(rec.requests) == 3
    assert sleeps[0] == 7.0  # Retry-After honoured exactly
    assert 0 <= sleeps[1] <= 1.0  # second wait: jittered exponential, cap base*2**1


def test_connection_errors_are_retried_then_surface_as_nlp502() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    rec = Recorder([], default=boom)
    store, sleeps = make_store(rec)
    with pytest.raises(UpstreamError) as info:
        store.read("DocumentReference", "d1")
    assert info.value.code == "NLP502"
    assert info.value.retryable
    assert len(rec.requests) == 4
    assert len(sleeps) == 3
    assert all(0 <= s <= 4 for s in sleeps)


def test_retry_after_is_capped() -> None:
    rec = Recorder(
        [httpx.Response(503, headers={"Retry-After": "3600"}), httpx.Response(200, json=DOC)]
    )
    store, sleeps = make_store(rec, retry=RetryPolicy(attempts=2, max_retry_after_s=5))
    store.read("DocumentReference", "d1")
    assert sleeps == [5]


def test_4xx_outcome_is_parsed_and_never_retried() -> None:
    rec = Recorder([httpx.Response(422, json=outcome("invariant", "dom-6"))])
    store, sleeps = make_store(rec, transaction_mode="transaction")
    with pytest.raises(UpstreamError) as info:
        store.save_all([DOC])
    err = info.value
    assert err.code == "NLP501"
    assert err.upstream_status == 422
    assert err.issues[0]["code"] == "invariant"
    assert "[NLP501]" in str(err)
    assert "invariant" in str(err)
    assert not err.retryable
    assert len(rec.requests) == 1
    assert sleeps == []


def test_read_absent_and_gone_give_none() -> None:
    rec = Recorder([httpx.Response(404, json=outcome("not-found", "x")), httpx.Response(410)])
    store, _ = make_store(rec)
    assert store.read("DocumentReference", "nope") is None
    assert store.read("DocumentReference", "gone") is None


def test_search_follows_next_links_and_merges_pages() -> None:
    def page(n: int, nxt: str | None) -> httpx.Response:
        body: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": 5,
            "entry": [
                {"resource": {"resourceType": "DocumentReference", "id": f"{n}-{i}"}}
                for i in range(2)
            ],
            "link": [{"relation": "self", "url": "x"}]
            + ([{"relation": "next", "url": nxt}] if nxt else []),
        }
        return httpx.Response(200, json=body)

    rec = Recorder(
        [
            page(1, BASE + "DocumentReference?page=2"),
            page(2, BASE + "DocumentReference?page=3"),
            page(3, None),
        ]
    )
    store, _ = make_store(rec)
    bundle = store.search("DocumentReference", [("subject", "Patient/1"), ("_count", "2")])
    assert [e["resource"]["id"] for e in bundle["entry"]] == [
        "1-0",
        "1-1",
        "2-0",
        "2-1",
        "3-0",
        "3-1",
    ]
    assert bundle["total"] == 5
    assert "link" not in bundle
    assert rec.requests[0].url.params.get("subject") == "Patient/1"
    assert str(rec.requests[2].url) == BASE + "DocumentReference?page=3"


def test_search_refuses_next_link_to_another_server() -> None:
    body = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": "https://evil.test/x"}],
    }
    store, _ = make_store(Recorder([httpx.Response(200, json=body)]))
    with pytest.raises(UpstreamError, match="NLP504"):
        store.search("DocumentReference", [])


def test_transaction_learnt_from_capability_statement() -> None:
    caps = {
        "resourceType": "CapabilityStatement",
        "rest": [{"mode": "server", "interaction": [{"code": "transaction"}, {"code": "batch"}]}],
    }
    resp = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            {"response": {"status": "200 OK", "etag": 'W/"3"'}},
            {"response": {"status": "204"}},
        ],
    }
    rec = Recorder([httpx.Response(200, json=caps), httpx.Response(200, json=resp)])
    store, _ = make_store(rec, auth=BearerAuth("tok"))
    stored = store.save_all([DOC], delete=["Condition/old"])
    assert store.transaction_mode == "transaction"
    assert stored[0]["meta"]["versionId"] == "3"
    post = rec.requests[1]
    assert post.method == "POST"
    assert str(post.url) == BASE
    assert post.headers["Authorization"] == "Bearer tok"
    assert post.headers["Content-Type"] == "application/fhir+json"
    sent = json.loads(post.content)
    assert sent["type"] == "transaction"
    assert [e["request"] for e in sent["entry"]] == [
        {"method": "PUT", "url": "DocumentReference/d1"},
        {"method": "DELETE", "url": "Condition/old"},
    ]
    # learnt once: the next write goes straight to the transaction
    rec.script.append(httpx.Response(200, json=resp))
    store.save_all([DOC])
    assert [r.method for r in rec.requests] == ["GET", "POST", "POST"]


def test_no_transaction_support_falls_back_to_ordered_single_writes() -> None:
    gen = {"resourceType": "Condition", "id": "c1"}
    rec = Recorder(
        [
            httpx.Response(404),  # no /metadata
            httpx.Response(400, json=outcome("not-supported", "transactions are not supported")),
        ],
        default=lambda r: httpx.Response(
            200 if r.method == "PUT" else 404, json=json.loads(r.content) if r.content else None
        ),
    )
    store, _ = make_store(rec)
    stored = store.save_all([DOC, gen], delete=["Observation/retired"])
    assert store.transaction_mode == "individual"
    writes = [(r.method, r.url.path) for r in rec.requests[2:]]
    # generated first, then deletes, then the document (which carries the loop-guard hash) last
    assert writes == [
        ("PUT", "/r4/Condition/c1"),
        ("DELETE", "/r4/Observation/retired"),
        ("PUT", "/r4/DocumentReference/d1"),
    ]
    assert [r["id"] for r in stored] == ["d1", "c1"]
    # remembered: no second transaction attempt
    store.save_all([gen])
    assert [r.method for r in rec.requests[5:]] == ["PUT"]


def test_single_write_4xx_is_surfaced() -> None:
    rec = Recorder([httpx.Response(409, json=outcome("conflict", "version"))])
    store, _ = make_store(rec, transaction_mode="individual")
    with pytest.raises(UpstreamError) as info:
        store.save_all([DOC])
    assert info.value.upstream_status == 409
    assert info.value.issues[0]["code"] == "conflict"


def test_batch_mode_checks_each_entry() -> None:
    resp = {
        "resourceType": "Bundle",
        "type": "batch-response",
        "entry": [
            {"response": {"status": "200 OK"}},
            {"response": {"status": "400 Bad Request", "outcome": outcome("required", "x")}},
        ],
    }
    rec = Recorder([httpx.Response(200, json=resp)])
    store, _ = make_store(rec, transaction_mode="batch")
    with pytest.raises(UpstreamError) as info:
        store.save_all([DOC, {"resourceType": "Condition", "id": "c1"}])
    assert info.value.upstream_status == 400
    assert info.value.issues[0]["code"] == "required"
    assert json.loads(rec.requests[0].content)["type"] == "batch"


def test_404_on_transaction_with_deletes_is_not_learnt_as_unsupported() -> None:
    resp = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": "200"}}],
    }
    rec = Recorder(
        [
            httpx.Response(404, json=outcome("not-found", "Not found")),  # DELETE of an absent one
            httpx.Response(404),  # single DELETE: absent is fine
            httpx.Response(200, json=DOC),  # single PUT of the document, last
            httpx.Response(200, json=resp),  # next write: a transaction again
        ]
    )
    store, _ = make_store(rec, transaction_mode="transaction")
    store.save_all([DOC], delete=["Condition/gone"])
    store.save_all([DOC])
    assert [(r.method, r.url.path) for r in rec.requests] == [
        ("POST", "/r4/"),
        ("DELETE", "/r4/Condition/gone"),
        ("PUT", "/r4/DocumentReference/d1"),
        ("POST", "/r4/"),
    ]
    assert store.transaction_mode == "transaction"


def test_long_searches_go_as_post_search_with_a_form_body() -> None:
    body = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    rec = Recorder([httpx.Response(200, json=body)])
    store, _ = make_store(rec)
    ids = ",".join(f"id-{i:04d}" for i in range(300))
    store.search("DocumentReference", [("_id", ids), ("status", "current")])
    (req,) = rec.requests
    assert (req.method, req.url.path) == ("POST", "/r4/DocumentReference/_search")
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(req.content.decode())
    assert form["_id"] == [ids]
    assert form["status"] == ["current"]


def test_versioned_resources_are_written_with_if_match_and_conflicts_are_flagged() -> None:
    versioned = {**DOC, "meta": {"versionId": "7"}}
    rec = Recorder([httpx.Response(412, json=outcome("conflict", "version 8 is current"))])
    store, sleeps = make_store(rec, transaction_mode="transaction")
    with pytest.raises(UpstreamError) as info:
        store.save_all([versioned, {"resourceType": "Condition", "id": "c1"}])
    assert info.value.conflict
    assert sleeps == []  # never retried here: the worker re-reads and re-enriches
    entries = json.loads(rec.requests[0].content)["entry"]
    assert entries[0]["request"]["ifMatch"] == 'W/"7"'
    assert "ifMatch" not in entries[1]["request"]
    # single writes carry it as a header
    rec.script.append(httpx.Response(200, json=versioned))
    single, _ = make_store(rec, transaction_mode="individual")
    single.save_all([versioned])
    assert rec.requests[-1].headers["If-Match"] == 'W/"7"'
