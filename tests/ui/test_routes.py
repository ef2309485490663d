"""The viewer's pages over HTTP (TestClient): headers, escaping, errors, nothing stored, engines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.ui.engines import SAMPLES as SAMPLES_KEY
from api.ui.engines import EngineRegistry, SampleRecordings, UnknownEngineError
from api.ui.render import CSP
from nlp.base import PermanentEngineError
from tests.conftest import SAMPLES
from tests.fakes import FakeEngine
from tests.ui.conftest import XSS_ID, XSS_TEXT, sample_text, text_document, viewer_app

MEDREC = "medrec-0001"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(viewer_app(), raise_server_exceptions=False) as test_client:
        response = test_client.put(
            f"/DocumentReference/{XSS_ID}", json=text_document(XSS_ID, XSS_TEXT)
        )
        assert response.status_code == 201
        yield test_client


def count_documents(client: TestClient) -> int:
    total: int = client.get("/DocumentReference", params={"_summary": "count"}).json()["total"]
    return total


def entities_in(html: str) -> int:
    return html.count('data-kind="entity"')


@pytest.mark.parametrize(
    "url",
    ["/ui/", f"/ui/documents/{MEDREC}", "/ui/playground", "/ui/compare", "/ui/static/viewer.js"],
)
def test_security_headers(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in response.text
    assert " style=" not in response.text  # CSP style-src 'self': no inline style either


def test_root_redirects_and_errors_are_pages(client: TestClient) -> None:
    assert client.get("/ui", follow_redirects=False).headers["location"] == "/ui/"
    missing = client.get("/ui/documents/nope")
    assert missing.status_code == 404
    assert "[NLP803]" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    assert client.get("/ui/resources/Patient/x").status_code == 404
    assert client.get("/ui/static/..%2Fapp.py").status_code == 404
    assert client.get("/ui/static/favicon.svg").headers["content-type"] == "image/svg+xml"


def test_note_text_is_escaped(client: TestClient) -> None:
    html = client.get(f"/ui/documents/{XSS_ID}").text
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert entities_in(html) == 4


def test_document_page_shows_processing_record_and_resources(client: TestClient) -> None:
    html = client.get(f"/ui/documents/{MEDREC}").text
    assert "SUCCESS" in html
    assert '<code class="engine-version">2</code>' in html
    assert "clinical" in html
    assert html.count('class="resource-json"') == 9  # 3 Condition, 4 MedicationStatement, ...
    assert f'href="/ui/compare?doc={MEDREC}&amp;a=stored&amp;b=running"' in html
    nlp = client.get(f"/ui/nlp/{MEDREC}")
    assert nlp.json() == client.get(f"/DocumentReference/{MEDREC}/$nlp").json()
    raw = client.get(f"/ui/raw/DocumentReference/{MEDREC}")
    assert raw.headers["content-type"].startswith("application/fhir+json")
    assert raw.json()["id"] == MEDREC


def test_resource_page_links_back_to_its_document(client: TestClient) -> None:
    html = client.get(f"/ui/documents/{MEDREC}").text
    condition = re.findall(r'href="/ui/resources/Condition/([^"]+)"', html)[0]
    page = client.get(f"/ui/resources/Condition/{condition}").text
    assert f'href="/ui/documents/{MEDREC}"' in page
    assert f"/Condition/{condition}</code>" in page


def test_a_document_without_date_or_subject(client: TestClient) -> None:
    doc = text_document("bare-1", sample_text("otitis-strep"))
    del doc["date"], doc["subject"]
    assert client.put("/DocumentReference/bare-1", json=doc).status_code == 201
    page = client.get("/ui/documents/bare-1")
    assert page.status_code == 200
    assert entities_in(page.text) == 8
    assert "No generated resource" in page.text  # no subject: nothing generated


def test_playground_bundle_deletes_what_another_profile_made(client: TestClient) -> None:
    stored = client.get(f"/DocumentReference/{MEDREC}").json()
    response = client.post(
        "/ui/playground",
        data={"engine": SAMPLES_KEY, "profile": "healthlake"},
        files={"document": ("doc.json", json.dumps(stored), "application/json")},
    )
    assert response.status_code == 200
    assert "&#34;method&#34;: &#34;DELETE&#34;" in response.text
    assert client.get(f"/DocumentReference/{MEDREC}").json() == stored  # nothing written


def test_a_pdf_document_has_no_note(client: TestClient) -> None:
    html = client.get("/ui/documents/scan-pdf-0001").text
    assert "no usable text" in html
    assert "UNSUPPORTED_CONTENT" in html


def test_playground_get_never_analyses(client: TestClient) -> None:
    html = client.get("/ui/playground", params={"text": sample_text("otitis-strep")}).text
    assert entities_in(html) == 0


def test_playground_stores_nothing(client: TestClient) -> None:
    before = count_documents(client)
    response = client.post(
        "/ui/playground",
        data={"text": sample_text("otitis-strep"), "engine": "running", "profile": "healthlake"},
    )
    assert response.status_code == 200
    assert entities_in(response.text) == 8
    assert "Transaction Bundle" in response.text
    assert count_documents(client) == before
    assert client.get("/DocumentReference/playground").status_code == 404


def test_playground_upload(client: TestClient) -> None:
    doc = json.dumps(text_document("up-1", sample_text("medication-list")))
    response = client.post(
        "/ui/playground",
        data={"engine": SAMPLES_KEY, "profile": "clinical"},
        files={"document": ("doc.json", doc, "application/json")},
    )
    assert response.status_code == 200
    assert entities_in(response.text) == 7
    assert "PUT DocumentReference/up-1" in response.text


@pytest.mark.parametrize(
    ("data", "files", "status", "code"),
    [
        ({"text": " "}, None, 422, "NLP807"),
        ({"text": "x" * 100_001}, None, 413, "NLP806"),
        ({"text": "x", "engine": "replay:/etc/passwd"}, None, 400, "NLP802"),
        ({"text": "x", "profile": "other"}, None, 400, "NLP801"),
        ({}, {"document": ("d.json", b"\xff{", "application/json")}, 400, "NLP801"),
        (
            {},
            {"document": ("d.json", b'{"resourceType": "Patient"}', "application/json")},
            400,
            "NLP400",
        ),
        (
            {},
            {"document": ("d.json", b'{"resourceType": "DocumentReference"}', "application/json")},
            400,
            "NLP210",
        ),
        ({"text": "no recording", "engine": SAMPLES_KEY}, None, 502, "NLP141"),
    ],
)
def test_playground_errors(
    client: TestClient, data: dict[str, str], files: object, status: int, code: str
) -> None:
    response = client.post("/ui/playground", data=data, files=files)  # type: ignore[arg-type]
    assert response.status_code == status
    assert f"[{code}]" in response.text
    assert 'role="alert"' in response.text


def test_compare_text_and_errors(client: TestClient) -> None:
    text = sample_text("negation-family-hypothetical")
    same = client.post(
        "/ui/compare", data={"text": sample_text("otitis-strep"), "a": "running", "b": SAMPLES_KEY}
    )
    assert '0 added</span>, <span class="diff-removed-text">0 removed' in same.text
    differs = client.post("/ui/compare", data={"text": text, "a": "running", "b": SAMPLES_KEY})
    assert "1 added" in differs.text
    stored = client.post("/ui/compare", data={"text": text, "a": "stored", "b": "running"})
    assert stored.status_code == 400
    no_text = client.get("/ui/compare", params={"doc": "scan-pdf-0001"})
    assert no_text.status_code == 422
    assert "[NLP807]" in no_text.text


def test_engine_registry_builds_once_and_caches(tmp_path: Path) -> None:
    built: list[str] = []

    def factory(spec: str) -> FakeEngine:
        built.append(spec)
        return FakeEngine(name=spec)

    running = FakeEngine(name="replay")
    registry = EngineRegistry("replay:x", SAMPLES, factory=factory, max_cached=1)
    assert [c.key for c in registry.choices(running, stored=True)] == [
        "stored",
        "running",
        "local",
        "replay:samples",
    ]
    assert registry.get("running", running) is running
    assert registry.get("local", running) is registry.get("local", running)
    assert built == ["local"]
    with pytest.raises(UnknownEngineError, match="NLP802"):
        registry.get("stored", running)
    with pytest.raises(UnknownEngineError, match="NLP802"):
        registry.get("comprehend", running)
    local_only = EngineRegistry("local", tmp_path, factory=factory)
    assert [c.key for c in local_only.choices(running)] == ["running"]


def test_sample_recordings_answer_for_sample_texts_only() -> None:
    recordings = SampleRecordings(SAMPLES)
    assert len(recordings) == 8
    result = recordings.analyze(sample_text("example2-advil"))
    assert "Advil" in [e.text for e in result.entities]
    with pytest.raises(PermanentEngineError, match="NLP141"):
        recordings.analyze("another text")
