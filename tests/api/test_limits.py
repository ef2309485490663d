"""Limits (issue 9): note characters, generated resources and index rows per document,
``_include``/``_revinclude`` paging, ``_history`` paging, and a long note processed off the
event loop while ``/status`` and reads answer."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from enrich import urls
from nlp.schema import NlpResult
from tests.api.conftest import ids, make_settings, put
from tests.api.live import serve
from tests.api.nlp_data import RESULTS, STREP_TEXT, document
from tests.fakes import FakeEngine


def aws_cm(doc: dict[str, Any]) -> dict[str, str]:
    """The aws-cm status and message of a stored document."""
    (tree,) = [e for e in doc["extension"] if e["url"] == urls.AWS_CM]
    return {
        c["url"]: c["valueString"]
        for c in tree["extension"]
        if c["url"] in (urls.STATUS, urls.MESSAGE)
    }


def app_client(engine: FakeEngine, **settings: Any) -> TestClient:
    return TestClient(
        create_app(make_settings(**settings), engine=engine), raise_server_exceptions=False
    )


def test_a_note_over_max_note_chars_is_stored_without_nlp() -> None:
    engine = FakeEngine(RESULTS)
    long_text = STREP_TEXT + " " + "x" * 300
    with app_client(engine, max_note_chars=len(STREP_TEXT) + 100) as c:
        response = c.put("/DocumentReference/long", json=document(long_text, doc_id="long"))
        assert response.status_code == 201
        assert response.headers["x-nlp-status"] == "VALIDATION_ERROR"
        assert response.headers["x-nlp-notes"] == "NLP231"
        stored = c.get("/DocumentReference/long").json()
        status = aws_cm(stored)
        assert status[urls.STATUS] == "VALIDATION_ERROR"
        assert status[urls.MESSAGE].startswith(f"[NLP231] The note has {len(long_text)} characters")
        assert "DOCREF_NLP_MAX_NOTE_CHARS" in status[urls.MESSAGE]
        # nothing lost: the text is stored as sent, nothing generated, the engine not called
        data = stored["content"][0]["attachment"]["data"]
        assert base64.b64decode(data).decode() == long_text
        assert engine.calls == []
        assert "system-generated-resources" not in str(stored["extension"])
        found = c.get("/DocumentReference", params={"cm-decoration-status": "VALIDATION_ERROR"})
        assert ids(found.json()) == {"long"}
        # the short note next to it is analysed as usual
        assert put(c, document(STREP_TEXT, doc_id="short"))["id"] == "short"
        assert aws_cm(c.get("/DocumentReference/short").json())[urls.STATUS] == "SUCCESS"
        outcome = c.put(
            "/DocumentReference/long",
            json=document(long_text, doc_id="long"),
            headers={"Prefer": "return=OperationOutcome"},
        ).json()
        assert outcome["resourceType"] == "OperationOutcome"
        texts = [i["diagnostics"] for i in outcome["issue"]]
        assert texts[0] == "NLP status VALIDATION_ERROR"
        assert texts[1].startswith("[NLP231]")


def test_analyze_refuses_text_over_the_limit() -> None:
    with app_client(FakeEngine(RESULTS), max_note_chars=50) as c:
        r = c.post("/$analyze", content="y" * 51, headers={"content-type": "text/plain"})
        assert r.status_code == 413
        assert "[NLP413] the text has 51 characters; the limit is 50" in r.text


@pytest.mark.parametrize(
    ("limit", "detail"),
    [
        ({"max_generated_resources": 2}, "would generate 5 resources, more than the 2"),
        ({"max_index_rows": 3}, "index entries, more than the 3"),
    ],
)
def test_too_much_output_is_refused_and_the_previous_output_retired(
    limit: dict[str, int], detail: str
) -> None:
    engine = FakeEngine(RESULTS)
    db_settings: dict[str, Any] = {"db_path": ":memory:"}
    with app_client(engine, **db_settings) as c:
        first = put(c, document(STREP_TEXT, doc_id="strep"))
        generated = [r["valueReference"]["reference"] for e in first["extension"]
                     if e["url"] == urls.SGR for r in e["extension"]]  # fmt: skip
        assert len(generated) == 4  # the Linkage and 3 clinical resources (+ the Provenance)
        # the same store, stricter limits: the next write of the document is refused output
        c.app.state.documents.limits = type(c.app.state.documents.limits)(**limit)  # type: ignore[attr-defined]
        response = c.put(
            "/DocumentReference/strep",
            json={**document(STREP_TEXT, doc_id="strep"), "description": "edited"},
        )
        assert response.status_code == 200
        assert response.headers["x-nlp-notes"] == "NLP232"
        status = aws_cm(response.json())
        assert status[urls.STATUS] == "VALIDATION_ERROR"
        assert detail in status[urls.MESSAGE]
        for ref in generated:  # retired with the refusal: no stale output left behind
            assert c.get(f"/{ref}").status_code == 410
        # the engine's result is kept (nothing lost): $nlp still answers it
        assert c.get("/DocumentReference/strep/$nlp").status_code == 200


@pytest.fixture
def paged() -> Iterator[TestClient]:
    with app_client(FakeEngine(RESULTS), max_include=2) as c:
        put(c, document(STREP_TEXT, doc_id="strep"))
        put(c, document(STREP_TEXT + " Again.", doc_id="strep2", patient="p2"))
        yield c


def follow(c: TestClient, url: str) -> list[dict[str, Any]]:
    """Every page of a search, following ``next``."""
    pages = []
    while url:
        response = c.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), "")
    return pages


@pytest.mark.parametrize(
    "query",
    [
        "/DocumentReference?_include=DocumentReference:nlp-generated&_count=1",
        "/DocumentReference?_revinclude=Condition:derived-from&_revinclude=Linkage:item",
    ],
)
def test_includes_are_paged_and_following_next_gives_each_once(
    paged: TestClient, query: str
) -> None:
    pages = follow(paged, query)
    matches = [e["resource"]["id"] for p in pages for e in p.get("entry", [])
               if e["search"]["mode"] == "match"]  # fmt: skip
    included = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for p in pages
                for e in p.get("entry", []) if e["search"]["mode"] == "include"]  # fmt: skip
    assert sorted(matches) == ["strep", "strep2"]  # each match once
    assert len(included) == len(set(included))  # each included resource once
    assert all(
        sum(e["search"]["mode"] == "include" for e in p.get("entry", [])) <= 2 for p in pages
    )
    unpaged = httpx.URL(query).params.multi_items()
    with app_client(FakeEngine(RESULTS), max_include=1000) as c:
        put(c, document(STREP_TEXT, doc_id="strep"))
        put(c, document(STREP_TEXT + " Again.", doc_id="strep2", patient="p2"))
        everything = follow(c, "/DocumentReference?" + str(httpx.QueryParams(unpaged)))
    expected = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for p in everything
                for e in p.get("entry", []) if e["search"]["mode"] == "include"}  # fmt: skip
    assert set(included) == expected
    assert len(pages) > len(everything)


def test_history_honours_count_and_offset_and_refuses_bad_values(paged: TestClient) -> None:
    for i in range(3):
        put(paged, {**document(STREP_TEXT, doc_id="strep"), "description": f"v{i}"})
    whole = paged.get("/DocumentReference/strep/_history").json()
    assert whole["total"] == 4
    page = paged.get("/DocumentReference/strep/_history", params={"_count": 1}).json()
    assert page["total"] == 4
    assert len(page["entry"]) == 1
    assert page["entry"][0]["response"]["etag"] == 'W/"4"'
    links = {link["relation"]: link["url"] for link in page["link"]}
    assert links["next"].endswith("_history?_count=1&_offset=1")
    second = paged.get(links["next"]).json()
    assert second["entry"][0]["response"]["etag"] == 'W/"3"'
    assert "previous" in {link["relation"] for link in second["link"]}
    for bad in ({"_count": "abc"}, {"_count": "-1"}, {"_offset": "1e9"}, {"_count": "9" * 30}):
        response = paged.get("/DocumentReference/strep/_history", params=bad)
        assert response.status_code == 400
        assert "[NLP402]" in response.text
    unknown = paged.get("/DocumentReference/strep/_history", params={"_since": "2020"})
    assert (unknown.status_code, "[NLP403]" in unknown.text) == (400, True)
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "DocumentReference/strep/_history?_count=2"}},
        {"request": {"method": "GET", "url": "DocumentReference/strep/_history?_count=abc"}},
    ]}  # fmt: skip
    entries = paged.post("/", json=bundle).json()["entry"]
    assert len(entries[0]["resource"]["entry"]) == 2
    assert entries[1]["response"]["status"] == "400"


class SlowEngine(FakeEngine):
    """Holds the CPU-free part of a long analysis for ``seconds`` (the event loop must not wait)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(RESULTS)
        self.seconds = seconds
        self.started = threading.Event()

    def analyze(self, text: str) -> NlpResult:
        self.started.set()
        time.sleep(self.seconds)
        return super().analyze(text)


def test_status_and_reads_answer_while_a_long_note_is_analysed() -> None:
    engine = SlowEngine(3.0)
    app = create_app(make_settings(), engine=engine)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        assert (
            http.put("/DocumentReference/a", json=document("A short note.", doc_id="a")).status_code
            == 201
        )
        engine.started.clear()
        writer = threading.Thread(
            target=lambda: http.put("/DocumentReference/b", json=document(STREP_TEXT, doc_id="b"))
        )
        writer.start()
        assert engine.started.wait(10)
        slowest = 0.0
        for path in ("/status", "/livez", "/readyz", "/DocumentReference/a", "/metadata") * 3:
            began = time.perf_counter()
            assert http.get(path).status_code == 200
            slowest = max(slowest, time.perf_counter() - began)
        writer.join(30)
    assert slowest < 1.0  # the 3 s analysis runs in a worker thread, not on the event loop
