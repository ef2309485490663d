"""The three 5xx causes of issue 9 and their neighbours: every hostile body is a coded 4xx.

Huge JSON integers, deep nesting (including a legal 900-deep body parsed on a deep stack, over
real HTTP), ``NaN``/``Infinity``, oversized and chunked bodies, and ``_history`` version ids
that overflow 64 bits, also inside a batch Bundle (where an entry's 500 is logged).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api import interactions
from api.app import create_app
from api.jsonbody import JsonBodyError, nesting_depth, parse_json
from tests.api.conftest import FHIR_JSON, make_settings, put
from tests.api.live import serve
from tests.api.nlp_data import RESULTS, STREP_TEXT, document
from tests.fakes import FakeEngine

JSON_ROUTES = [
    ("POST", "/DocumentReference"),
    ("PUT", "/DocumentReference/x1"),
    ("POST", "/Binary"),
    ("PUT", "/Binary/b1"),
    ("POST", "/$analyze"),
    ("POST", "/"),
    ("POST", "/webhook"),
    ("PUT", "/DocumentReference?identifier=a|b"),
]
HUGE_INT = '{"resourceType": "DocumentReference", "n": ' + "9" * 5000 + "}"


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def code_of(response: httpx.Response) -> str:
    body = response.json()
    return str(body["issue"][0]["diagnostics"])[:8]


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(make_settings(), engine=FakeEngine(RESULTS))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (HUGE_INT, "a number in the body has more than 100 digits"),
        (nested(100_000), "nested deeper than 1000 levels"),
        ('{"resourceType": "Binary", "x": NaN}', "NaN is not a JSON value"),
        ('{"resourceType": "Binary", "x": -Infinity}', "-Infinity is not a JSON value"),
        ('{"resourceType": "Binary", "x": 1e999}', "too large to represent"),
        ('{"resourceType": "Binary",', "not valid JSON (line 1, column 27)"),
        (b'{"x": "\xff"}', "not UTF-8"),
    ],
)
def test_hostile_json_is_a_coded_400(
    client: TestClient, method: str, path: str, body: str | bytes, message: str
) -> None:
    response = client.request(method, path, content=body, headers={"content-type": FHIR_JSON})
    assert response.status_code == 400, response.text
    assert code_of(response) in ("[NLP400]", "[NLP601]")
    assert message in response.text


def test_parse_json_rules() -> None:
    assert parse_json(b'\xef\xbb\xbf{"a": [1, 2.5, "x"]}', max_depth=3) == {"a": [1, 2.5, "x"]}
    assert parse_json(nested(900), max_depth=1000) == json.loads(nested(900))
    with pytest.raises(JsonBodyError, match="nested deeper than 899 levels"):
        parse_json(nested(900), max_depth=899)
    assert nesting_depth(json.loads(nested(900))) == 900


def test_legal_900_deep_json_is_parsed_over_real_http() -> None:
    """On uvicorn's deep stack a 900-deep body used to be "not valid JSON" (RecursionError)."""
    app = create_app(make_settings(), engine=FakeEngine(RESULTS))
    deep = {"resourceType": "Parameters", "parameter": [{"name": "text", "valueString": "x"}]}
    body = json.dumps(deep)[:-1] + ', "extra": ' + nested(900) + "}"
    doc = json.dumps(document(STREP_TEXT))[:-1] + ', "extra": ' + nested(900) + "}"
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        analyzed = http.post("/$analyze", content=body, headers={"content-type": FHIR_JSON})
        assert analyzed.status_code == 200, analyzed.text
        # a DocumentReference that deep is refused for what it is, not as "not valid JSON"
        refused = http.post("/DocumentReference", content=doc, headers={"content-type": FHIR_JSON})
        assert refused.status_code == 400
        assert "nested deeper than 64 levels" in refused.text
        too_deep = http.post("/webhook", content=nested(1001), headers={"content-type": FHIR_JSON})
        assert too_deep.status_code == 400
        assert "nested deeper than 1000 levels" in too_deep.text


def test_max_json_depth_is_configurable() -> None:
    app = create_app(make_settings(max_json_depth=10), engine=FakeEngine(RESULTS))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/", content=nested(11), headers={"content-type": FHIR_JSON})
        assert (r.status_code, code_of(r)) == (400, "[NLP400]")
        assert "nested deeper than 10 levels" in r.text
        assert (
            c.post("/", content=nested(10), headers={"content-type": FHIR_JSON}).status_code == 400
        )


def test_deep_resources_are_refused_before_validation(client: TestClient) -> None:
    deep_extension: dict[str, Any] = {"url": "u"}
    for _ in range(70):
        deep_extension = {"url": "u", "extension": [deep_extension]}
    binary = {"resourceType": "Binary", "contentType": "text/plain", "data": "eA=="}
    for path, resource in (
        ("/Binary/deep", {**binary, "extension": [deep_extension]}),
        ("/DocumentReference/deep", {**document(STREP_TEXT), "extension": [deep_extension]}),
    ):
        response = client.put(path, json=resource)
        assert response.status_code == 400
        assert "nested deeper than 64 levels" in response.text
    notification = {**document(STREP_TEXT, doc_id="deep"), "extension": [deep_extension]}
    response = client.post("/webhook", json=notification)
    assert response.status_code == 400
    assert code_of(response) == "[NLP601]"


def test_body_size_limit_declared_and_chunked() -> None:
    app = create_app(make_settings(max_body_bytes=2048), engine=FakeEngine(RESULTS))
    big = json.dumps({"resourceType": "Binary", "data": "A" * 4000})
    with TestClient(app, raise_server_exceptions=False) as c:
        declared = c.post("/Binary", content=big, headers={"content-type": FHIR_JSON})
        assert (declared.status_code, code_of(declared)) == (413, "[NLP413]")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
            for i in range(0, len(big), 500):
                yield big[i : i + 500].encode()

        streamed = c.post("/Binary", content=chunks(), headers={"content-type": FHIR_JSON})
        assert (streamed.status_code, code_of(streamed)) == (413, "[NLP413]")
        assert "DOCREF_NLP_MAX_BODY_BYTES" in streamed.text
        hook = c.post("/webhook", content=chunks())
        assert hook.status_code == 413
        small = c.post("/Binary", json={"resourceType": "Binary", "contentType": "text/plain"})
        assert small.status_code == 201


@pytest.mark.parametrize(
    "version", ["9223372036854775808", "99999999999999999999999", "-1", "2147483648", "1e3"]
)
def test_history_version_overflow_is_404(client: TestClient, version: str) -> None:
    put(client, document(STREP_TEXT, doc_id="strep"))
    response = client.get(f"/DocumentReference/strep/_history/{version}")
    assert (response.status_code, code_of(response)) == (404, "[NLP404]")
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"DocumentReference/strep/_history/{version}"}},
            {"request": {"method": "GET", "url": "DocumentReference/strep/_history/1"}},
        ],
    }
    answer = client.post("/", json=bundle)
    assert answer.status_code == 200
    statuses = [e["response"]["status"] for e in answer.json()["entry"]]
    assert statuses == ["404", "200 OK"]


def test_a_500_inside_a_batch_is_answered_per_entry_and_logged(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> Any:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    monkeypatch.setattr(interactions, "vread", broken)
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": "DocumentReference/a/_history/1"}}],
    }
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        answer = client.post("/", json=bundle)
    assert answer.status_code == 200
    (entry,) = answer.json()["entry"]
    assert entry["response"]["status"] == "500"
    assert entry["response"]["outcome"]["issue"][0]["diagnostics"].startswith("[NLP500]")
    (record,) = [r for r in caplog.records if r.name == "api.errors"]
    assert "unhandled OverflowError" in record.getMessage()
    assert "batch entry" in record.getMessage()
    assert "SQLite INTEGER" not in record.getMessage()  # the class, never the message


def test_the_viewer_upload_refuses_huge_integers_as_a_coded_error() -> None:
    from api.ui.render import UiError
    from api.ui.views import uploaded_document

    with pytest.raises(UiError) as caught:
        uploaded_document(HUGE_INT.encode())
    assert caught.value.code == "NLP801"


def _depth_by_recursion(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth_by_recursion(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth_by_recursion(v) for v in value), default=0)
    return 0


def test_nesting_depth_is_the_deepest_branch_of_any_shape() -> None:
    rng = random.Random(11)

    def shape(budget: int) -> object:
        kind = rng.random()
        if budget <= 0 or kind < 0.3:
            return rng.choice([1, "x", None, 2.5, True])
        children = [shape(budget - rng.randint(1, 3)) for _ in range(rng.randint(0, 4))]
        if kind < 0.65:
            return children
        return {f"k{i}": child for i, child in enumerate(children)}

    for _ in range(300):
        value = shape(rng.randint(0, 12))
        assert nesting_depth(value) == _depth_by_recursion(value)
    assert nesting_depth([]) == nesting_depth({}) == 1
    assert nesting_depth([[], {"a": {}}]) == 3
