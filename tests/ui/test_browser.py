"""The viewer end to end in real headless Chromium (Debian's ``chromium``, driven by Playwright).

One browser for the session, one server (uvicorn on a loopback port) for the module, a fresh
browser context per test. Screenshots go to ``tests/ui/artifacts/`` (gitignored). Every page
must load without console errors (a CSP violation is one), page errors or dialogs.

Skips (with the reason) when the ``playwright`` package or the browser is missing:
``scripts/ensure-chromium.sh`` installs Debian's chromium as root; ``DOCREF_NLP_CHROMIUM``
points at another binary. The axe-core check needs ``make node`` (tests/node).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.live import serve
from tests.conftest import ROOT
from tests.ui.conftest import (
    CHANGED_ID,
    XSS_ID,
    XSS_TEXT,
    sample_text,
    span,
    text_document,
    viewer_app,
)

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

CHROMIUM = os.environ.get("DOCREF_NLP_CHROMIUM") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
AXE = ROOT / "tests" / "node" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
OTITIS_ID = "985c3e94-4219-4c79-97a1-c94694525e24"
MEDREC_ID = "medrec-0001"


@dataclass
class Site:
    base: str
    http: httpx.Client


@dataclass
class Tab:
    page: Any
    problems: list[str] = field(default_factory=list)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(
            f"no browser at {CHROMIUM}: run scripts/ensure-chromium.sh as root "
            "(apt-get install chromium) or set DOCREF_NLP_CHROMIUM"
        )
    with sync_api.sync_playwright() as playwright:
        # launch() gives every run a fresh temporary user-data-dir
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve(viewer_app()) as base, httpx.Client(base_url=base, timeout=30) as http:
        response = http.put(f"/DocumentReference/{XSS_ID}", json=text_document(XSS_ID, XSS_TEXT))
        assert response.status_code == 201, response.text
        yield Site(base, http)


@pytest.fixture
def tab(browser: Any, site: Site) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=site.base)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    page = context.new_page()
    page.set_default_timeout(10_000)
    opened = Tab(page)
    page.on("console", lambda m: opened.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.problems.append(f"page error: {e}"))

    def on_dialog(dialog: Any) -> None:
        opened.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield opened
    context.close()
    assert opened.problems == []


def stored_spans(site: Site, doc_id: str) -> list[tuple[int, int]]:
    """Spans of every entity of the stored result: DetectEntitiesV2 and the ontology ones."""
    result = site.http.get(f"/DocumentReference/{doc_id}/$nlp").json()
    spans = {
        (e["BeginOffset"], e["EndOffset"])
        for op in ("DetectEntitiesV2", "InferICD10CM", "InferRxNorm")
        for e in (result.get(op) or {}).get("Entities", [])
    }
    return sorted(spans)


def drawn_spans(tab: Tab, scope: str = "#note") -> list[tuple[int, int]]:
    pairs = tab.page.eval_on_selector_all(
        f"{scope} [data-kind=entity]",
        "els => els.map(e => [Number(e.dataset.begin), Number(e.dataset.end)])",
    )
    return sorted((int(b), int(e)) for b, e in pairs)


def run_axe(tab: Tab) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.1 A/AA violations axe-core finds on the current page."""
    if not AXE.is_file():
        pytest.skip("axe-core is missing: run `make node` (tests/node/package.json)")
    tab.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found: list[dict[str, Any]] = tab.page.evaluate(
        """async () => {
            const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
            const out = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return out.violations.map(v => ({id: v.id, impact: v.impact,
                targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}));
        }"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("doc_id", [OTITIS_ID, MEDREC_ID])
def test_highlights_are_exactly_the_stored_entities(tab: Tab, site: Site, doc_id: str) -> None:
    response = tab.page.goto(f"/ui/documents/{doc_id}")
    assert response is not None
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    expected = stored_spans(site, doc_id)
    assert expected
    assert drawn_spans(tab) == expected
    name = "otitis-strep" if doc_id == OTITIS_ID else "medication-list"
    text = sample_text(name)
    assert tab.page.eval_on_selector("#note", "e => e.textContent") == text
    marks = tab.page.eval_on_selector_all(
        "#note [data-kind=entity]:not(.clipped)",
        "els => els.map(e => [Number(e.dataset.begin), Number(e.dataset.end), e.textContent])",
    )
    assert marks
    assert all(text[b:e] == shown for b, e, shown in marks)
    tab.shot(f"document-{name}")


def test_entity_details_on_click_keyboard_and_bug_report(tab: Tab, site: Site) -> None:
    tab.page.goto(f"/ui/documents/{MEDREC_ID}")
    metformin = tab.page.locator("#note a.mk[data-begin]", has_text="Metformin").first
    key = metformin.get_attribute("data-key")
    metformin.click()
    details = tab.page.locator(f"#d-{key}")
    assert details.is_visible()
    assert "GENERIC_NAME" in details.inner_text()
    assert details.locator("table.concepts td", has_text="861007").count() == 1
    assert details.locator("table.attributes td", has_text="DOSAGE").count() == 1
    # keyboard: Tab to the next mention shows its details and hides the previous ones
    tab.page.keyboard.press("Tab")
    focused = tab.page.evaluate("document.activeElement.dataset.key")
    assert focused
    assert focused != key
    assert tab.page.locator(f"#d-{focused}").is_visible()
    assert not details.is_visible()
    # a bug report names document, offsets, engine version; never the note text
    tab.page.keyboard.press("Shift+Tab")
    details.locator("button.copy-report").click()
    box = details.locator("textarea.report-text")
    box.wait_for(state="visible")
    report = box.input_value()
    assert f"DocumentReference/{MEDREC_ID}" in report
    assert "offsets 129-138" in report
    assert "engine: fake 2" in report
    assert "Metformin" not in report
    assert tab.page.evaluate("navigator.clipboard.readText()") == report
    tab.shot("details")


def test_generated_resource_links_to_json_and_span(tab: Tab, site: Site) -> None:
    tab.page.goto(f"/ui/documents/{OTITIS_ID}")
    row = tab.page.locator(".resources tr", has_text="H66.90")
    span_link = row.locator("a.span-link")
    span_link.click()
    key = span_link.get_attribute("data-show")
    assert tab.page.locator(f"#m-{key}.selected").count() == 1
    assert tab.page.locator(f"#d-{key}").is_visible()
    row.locator("a.resource-json").click()
    tab.page.wait_for_url("**/ui/resources/Condition/*")
    resource = json.loads(tab.page.locator("pre.json").inner_text())
    assert resource["resourceType"] == "Condition"
    assert tab.page.url.endswith(resource["id"])
    offsets = {
        c["url"]: c.get("valueInteger")
        for e in resource["extension"]
        for c in e.get("extension", [])  # scores are simple extensions (clinical profile)
    }
    assert (offsets["offset"], offsets["offset"] + offsets["length"]) == span(
        sample_text("otitis-strep"), "otitis media"
    )
    tab.page.get_by_role("link", name="Annotated document").click()
    tab.page.wait_for_url(f"**/ui/documents/{OTITIS_ID}")


def test_search_by_an_nlp_parameter_posts_its_terms(tab: Tab, site: Site) -> None:
    tab.page.goto("/ui/")
    tab.page.get_by_label("Condition code or text").fill("H66.90")
    tab.page.get_by_role("button", name="Search").click()
    tab.page.wait_for_url("**/ui/documents")
    assert "?" not in tab.page.url  # search terms may be note text: never in the URL
    links = tab.page.locator("table.documents tbody a").all_inner_texts()
    assert links == [OTITIS_ID]
    assert "infer-icd10cm-entity-concept-code=H66.90" in tab.page.inner_text(".fhir-query")
    tab.page.get_by_label("Condition code or text").fill("")
    tab.page.get_by_label("Medication").fill("aspirin")
    tab.page.get_by_label("Negated mentions only").check()
    tab.page.get_by_role("button", name="Search").click()
    tab.page.wait_for_url("**/ui/documents")
    assert tab.page.locator("table.documents tbody a").all_inner_texts() == [CHANGED_ID]
    tab.shot("search")


def test_playground_analyses_without_storing(tab: Tab, site: Site, tmp_path: Path) -> None:
    before = site.http.get("/DocumentReference", params={"_summary": "count"}).json()["total"]
    tab.page.goto("/ui/playground")
    text = sample_text("otitis-strep")
    tab.page.get_by_label("Note text").fill(text)
    tab.page.get_by_label("Profile").select_option("clinical")
    tab.page.get_by_role("button", name="Analyze").click()
    tab.page.wait_for_url("**/ui/playground")
    assert "?" not in tab.page.url
    assert drawn_spans(tab) == stored_spans(site, OTITIS_ID)
    tab.page.locator("#bundle-json summary").click()
    bundle = json.loads(tab.page.locator("#bundle-json pre").inner_text())
    assert bundle["type"] == "transaction"
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} >= {"Condition", "Linkage"}
    tab.shot("playground")
    # an uploaded DocumentReference, healthlake profile
    upload = tmp_path / "doc.json"
    upload.write_text(json.dumps(text_document("upload-1", XSS_TEXT)), encoding="utf-8")
    tab.page.get_by_label("Or a DocumentReference JSON file").set_input_files(str(upload))
    tab.page.get_by_label("Profile").select_option("healthlake")
    tab.page.get_by_role("button", name="Analyze").click()
    tab.page.wait_for_url("**/ui/playground")
    assert len(drawn_spans(tab)) == 4
    assert "profile healthlake" in tab.page.inner_text("#result-title")
    after = site.http.get("/DocumentReference", params={"_summary": "count"}).json()["total"]
    assert after == before
    assert site.http.get("/DocumentReference/upload-1").status_code == 404


def test_compare_marks_added_removed_changed(tab: Tab, site: Site) -> None:
    tab.page.goto("/ui/compare")
    tab.page.get_by_label("Document id").fill(CHANGED_ID)
    tab.page.locator("#doc-a").select_option("stored")
    tab.page.locator("#doc-b").select_option("replay:samples")
    tab.page.get_by_role("button", name="Compare the document").click()
    tab.page.wait_for_url("**/ui/compare?*")
    assert tab.page.url.endswith(f"doc={CHANGED_ID}&a=stored&b=replay%3Asamples")
    summary = tab.page.inner_text(".diff-summary")
    assert summary.startswith("1 added, 1 removed, 1 changed")
    text = sample_text("negation-family-hypothetical")
    added = drawn_diff(tab, "#note-b", "added")
    removed = drawn_diff(tab, "#note-a", "removed")
    assert added == [span(text, "cough")]
    assert removed == [span(text, "mother")]
    assert drawn_diff(tab, "#note-a", "changed") == drawn_diff(tab, "#note-b", "changed")
    assert drawn_diff(tab, "#note-b", "changed") == [span(text, "fever")]
    assert "traits −PAST_HISTORY" in tab.page.inner_text("table.diff-table")
    tab.shot("compare")


def drawn_diff(tab: Tab, scope: str, kind: str) -> list[tuple[int, int]]:
    pairs = tab.page.eval_on_selector_all(
        f"{scope} .diff-{kind}", "els => els.map(e => [+e.dataset.begin, +e.dataset.end])"
    )
    return sorted((int(b), int(e)) for b, e in pairs)


def test_hostile_note_renders_as_text(tab: Tab, site: Site) -> None:
    tab.page.goto(f"/ui/documents/{XSS_ID}")
    assert tab.page.eval_on_selector("#note", "e => e.textContent") == XSS_TEXT
    assert tab.page.get_by_text("<script>alert(1)</script>", exact=False).first.is_visible()
    assert tab.page.locator("#note", has_text="<img src=x onerror=alert(2)>").is_visible()
    assert tab.page.locator("#note img, #note script").count() == 0
    assert tab.page.evaluate("document.scripts.length") == 1  # viewer.js only
    tab.page.locator("#note a.mk", has_text="<img").click()  # its details render as text too
    assert tab.page.locator(".details:visible h3").inner_text().startswith("<img src=x")
    # the same text pasted into the playground
    tab.page.goto("/ui/playground")
    tab.page.get_by_label("Note text").fill(XSS_TEXT)
    tab.page.get_by_role("button", name="Analyze").click()
    tab.page.wait_for_url("**/ui/playground")
    assert tab.page.eval_on_selector("#note", "e => e.textContent") == XSS_TEXT
    assert tab.page.locator("#note img, #note script").count() == 0
    tab.shot("hostile-note")


def test_no_serious_accessibility_violations(tab: Tab, site: Site) -> None:
    pages = {
        "documents": "/ui/",
        "document": f"/ui/documents/{MEDREC_ID}",
        "resource": f"/ui/resources/DocumentReference/{MEDREC_ID}",
        "compare": f"/ui/compare?doc={CHANGED_ID}&a=stored&b=replay:samples",
    }
    problems = {}
    for name, url in pages.items():
        tab.page.goto(url)
        if name == "document":
            tab.page.locator("#note a.mk").first.click()  # an open details panel too
        problems[name] = run_axe(tab)
    tab.page.goto("/ui/playground")
    tab.page.get_by_label("Note text").fill(sample_text("otitis-strep"))
    tab.page.get_by_role("button", name="Analyze").click()
    tab.page.wait_for_url("**/ui/playground")
    problems["playground"] = run_axe(tab)
    assert problems == {name: [] for name in problems}
