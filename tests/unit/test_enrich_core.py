"""enrich_document: purity, re-processing, retirement, loop guard, statuses, bundle."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from enrich import (
    EnrichError,
    EnrichmentPolicy,
    enrich_document,
    generated_by,
    needs_processing,
    urls,
)
from enrich.core import fhir_instant
from enrich.extensions import find_extension, read_status
from enrich.text import content_hash, extract_text
from nlp.schema import NlpResult
from tests.conftest import load_sample
from tests.golden import SAMPLES, enrich_sample, load_json

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def _result(name: str) -> NlpResult:
    return NlpResult.model_validate(load_json(SAMPLES / "nlp" / f"{name}.json"))


def _run(doc: dict[str, Any], result: NlpResult | None, **kw: Any) -> Any:
    policy = kw.pop("policy", EnrichmentPolicy())
    return enrich_document(
        doc,
        result,
        policy=policy,
        now=kw.pop("now", NOW),
        engine_name=kw.pop("engine_name", "replay"),
        engine_version=kw.pop("engine_version", "1"),
        **kw,
    )


def test_input_never_mutated() -> None:
    doc = load_sample("negation-family-hypothetical")
    before = copy.deepcopy(doc)
    result = _result("negation-family-hypothetical")
    result_before = result.model_dump()
    out = _run(doc, result)
    assert doc == before
    assert result.model_dump() == result_before
    assert out.document is not doc
    out.document["content"][0]["attachment"]["data"] = "changed"
    assert doc == before


def test_same_input_same_output_and_ids() -> None:
    doc, result = load_sample("medication-list"), _result("medication-list")
    first = _run(doc, result).transaction_bundle()
    second = _run(doc, result).transaction_bundle()
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_reprocessing_replaces_own_extensions_and_keeps_others() -> None:
    doc = load_sample("example2-advil")
    foreign = {"url": "http://example.org/fhir/StructureDefinition/x", "valueString": "keep"}
    doc["extension"] = [foreign]
    once = _run(doc, _result("example2-advil")).document
    twice = _run(once, _result("example2-advil"), now=NOW + timedelta(days=1)).document
    urls_twice = [e["url"] for e in twice["extension"]]
    assert urls_twice == [foreign["url"], urls.AWS_CM, urls.SGR, urls.PROJECT_EXT]
    assert twice["extension"][0] == foreign


def test_changed_text_retires_resources_no_longer_produced() -> None:
    doc = load_sample("medication-list")
    first = _run(doc, _result("medication-list"))
    # The same document re-analysed with only the ICD-10 part: every medication is retired.
    recorded = load_json(SAMPLES / "nlp" / "medication-list.json")
    partial = NlpResult.model_validate({"InferICD10CM": recorded["InferICD10CM"]})
    second = _run(first.document, partial)
    old_meds = {
        f"MedicationStatement/{r['id']}"
        for r in first.generated
        if r["resourceType"] == "MedicationStatement"
    }
    assert len(old_meds) == 4
    assert set(second.retired) == old_meds
    kept = {f"{r['resourceType']}/{r['id']}" for r in second.generated}
    assert not kept & set(second.retired)
    deletes = [
        e for e in second.transaction_bundle()["entry"] if e["request"]["method"] == "DELETE"
    ]
    assert {e["request"]["url"] for e in deletes} == old_meds
    assert all("resource" not in e for e in deletes)


def test_unsupported_content_retires_everything() -> None:
    first = _run(load_sample("example2-advil"), _result("example2-advil"))
    second = _run(first.document, None)
    assert second.status == "UNSUPPORTED_CONTENT"
    assert second.generated == []
    previous = {f"{r['resourceType']}/{r['id']}" for r in first.generated}
    assert set(second.retired) == previous  # linkage, statement and provenance
    assert find_extension(second.document, urls.SGR) is None


def test_pdf_only_sample_unsupported() -> None:
    out = enrich_sample("pdf-only", "clinical")
    assert out.status == "UNSUPPORTED_CONTENT"
    assert out.text_hash is None
    assert out.index_rows == []
    tree = find_extension(out.document, urls.AWS_CM)
    assert tree is not None
    assert [c["url"] for c in tree["extension"]] == [urls.STATUS, urls.MESSAGE]
    assert len(out.transaction_bundle()["entry"]) == 1


def test_validation_error_over_nested_object_limit() -> None:
    doc = load_sample("example1-synthea")
    out = _run(doc, _result("example1-synthea"), policy=EnrichmentPolicy(max_nested_objects=50))
    assert out.status == "VALIDATION_ERROR"
    assert out.generated == []
    assert out.index_rows == []
    tree = find_extension(out.document, urls.AWS_CM)
    assert tree is not None
    assert [c["url"] for c in tree["extension"]] == [urls.STATUS, urls.MESSAGE]
    message = tree["extension"][1]["valueString"]
    assert message.startswith(
        "Resource led to too many nested objects after NLP operation processed the document. "
    )
    assert message.endswith(" nested objects exceeds the limit of 50.")
    assert read_status(out.document) == "VALIDATION_ERROR"


def test_default_limit_passes_long_summary() -> None:
    assert enrich_sample("discharge-summary-long", "healthlake").status == "SUCCESS"


def test_loop_guard() -> None:
    doc = load_sample("example2-advil")
    extracted = extract_text(doc)
    assert extracted is not None
    assert extracted.text is not None
    h = content_hash(extracted.text)
    assert needs_processing(doc, h, "replay", "1")
    out = _run(doc, _result("example2-advil"))
    assert out.text_hash == h
    assert not needs_processing(out.document, h, "replay", "1")
    assert not needs_processing(out.document, h, "replay", "1", profile="clinical")
    assert needs_processing(out.document, h, "replay", "2")
    assert needs_processing(out.document, h, "local", "1")
    assert needs_processing(out.document, content_hash("other text"), "replay", "1")
    assert needs_processing(out.document, h, "replay", "1", profile="healthlake")


def test_loop_guard_for_unsupported_content() -> None:
    out = enrich_sample("pdf-only", "clinical")
    assert not needs_processing(out.document, None, "replay", "samples-1")


def test_caller_supplied_text_sets_hash() -> None:
    doc = load_sample("example2-advil")
    doc["content"][0]["attachment"] = {"contentType": "text/plain", "url": "Binary/b1"}
    out = _run(doc, _result("example2-advil"), text="Tom is not prescribed Advil")
    assert out.text_hash == content_hash("Tom is not prescribed Advil")


def test_transaction_bundle_puts_every_resource() -> None:
    out = enrich_sample("example2-advil", "clinical")
    bundle = out.transaction_bundle()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "transaction"
    entries = bundle["entry"]
    assert entries[0]["resource"] is out.document
    assert [e["request"] for e in entries] == [
        {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"} for r in out.resources()
    ]


def test_document_without_subject_generates_nothing() -> None:
    doc = load_sample("example2-advil")
    del doc["subject"]
    out = _run(doc, _result("example2-advil"))
    assert out.status == "SUCCESS"
    assert out.generated == []
    assert out.index_rows  # the aws-cm tree is still written


@pytest.mark.parametrize(
    ("doc", "code"),
    [
        ({"resourceType": "Patient", "id": "p"}, "[NLP201]"),
        ({"resourceType": "DocumentReference"}, "[NLP202]"),
        ({"resourceType": "DocumentReference", "id": ""}, "[NLP202]"),
    ],
)
def test_coded_errors(doc: dict[str, Any], code: str) -> None:
    with pytest.raises(EnrichError) as info:
        _run(doc, None)
    assert str(info.value).startswith(code)


def test_ids_deterministic_and_document_scoped() -> None:
    a = _run(load_sample("example2-advil"), _result("example2-advil")).generated
    other = load_sample("example2-advil")
    other["id"] = "another-document"
    b = _run(other, _result("example2-advil")).generated
    assert [r["resourceType"] for r in a] == [r["resourceType"] for r in b]
    assert not {r["id"] for r in a} & {r["id"] for r in b}


def test_fhir_instant_converts_to_utc() -> None:
    tz = timezone(timedelta(hours=2))
    assert (
        fhir_instant(datetime(2024, 1, 1, 2, 0, 0, 5000, tzinfo=tz)) == "2024-01-01T00:00:00.005Z"
    )


def test_generated_by_lists_everything_to_delete_with_the_document() -> None:
    out = enrich_sample("example2-advil", "clinical")
    assert sorted(generated_by(out.document)) == sorted(
        f"{r['resourceType']}/{r['id']}" for r in out.generated
    )
    assert generated_by(load_sample("example2-advil")) == []


def test_default_limit_gives_validation_error_on_huge_results() -> None:
    """HealthLake's rule with the default 10,000 limit: 300 entities x 5 concepts is too many."""
    doc = load_sample("example2-advil")
    concepts = [{"Code": f"R{i}", "Description": "x", "Score": 0.5} for i in range(5)]
    entities = [
        {
            "Id": i,
            "Text": "Tom",
            "Score": 0.9,
            "BeginOffset": 0,
            "EndOffset": 3,
            "Traits": [{"Name": "DIAGNOSIS", "Score": 0.9}],
            "ICD10CMConcepts": concepts,
        }
        for i in range(300)
    ]
    result = NlpResult.model_validate({"InferICD10CM": {"Entities": entities}})
    out = _run(doc, result, policy=EnrichmentPolicy(profile="healthlake"))
    assert out.status == "VALIDATION_ERROR"
    assert out.generated == []
    count = int(out.message.split(". ")[1].split(" ")[0])
    assert count > 10_000
    unlimited = _run(doc, result, policy=EnrichmentPolicy(max_nested_objects=None))
    assert unlimited.status == "SUCCESS"


def test_nested_object_limit_defaults_per_profile() -> None:
    assert EnrichmentPolicy(profile="healthlake").max_nested_objects == 10_000
    assert EnrichmentPolicy().max_nested_objects is None
    assert EnrichmentPolicy(profile="clinical", max_nested_objects=50).max_nested_objects == 50


def _containers(value: Any) -> list[int]:
    """ids of every dict, list and tuple of ``value`` (pre-order)."""
    found: list[int] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(id(item))
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            found.append(id(item))
            stack.extend(item)
    return found


def test_copy_json_equals_deepcopy_and_shares_no_container() -> None:
    from enrich.core import copy_json

    value: dict[str, Any] = {
        "a": [1, 2.5, {"b": None, "c": [True, "x"]}],
        "t": ({"d": []}, "s"),
        "e": {},
        "n": -0.0,
    }
    copied = copy_json(value)
    assert copied == copy.deepcopy(value)
    assert json.dumps(copied) == json.dumps(value)
    assert isinstance(copied["t"], tuple)
    ours, theirs = _containers(copied), _containers(value)
    assert len(ours) == len(theirs) == 8
    assert not set(ours) & set(theirs)
    assert copy_json("text") == "text"


def test_reenrichment_copies_the_kept_extensions_not_the_old_tree() -> None:
    doc = load_sample("example2-advil")
    foreign = {"url": "http://example.org/fhir/StructureDefinition/x", "extension": [{"url": "y"}]}
    doc["extension"] = [foreign]
    doc["meta"] = {"tag": [{"code": "t"}]}
    once = _run(doc, _result("example2-advil")).document
    before = copy.deepcopy(once)
    twice = _run(once, _result("example2-advil"), now=NOW + timedelta(days=1)).document
    assert once == before  # the input is not mutated
    assert list(twice) == list(once)  # the same keys, in the same order
    # nothing of the input is shared by the output but the aws-cm tree's cached pieces
    # (shared by every tree by design): the store may change the output in place
    copied = [v for k, v in twice.items() if k != "extension"] + [twice["extension"][0]]
    assert not set(_containers(copied)) & set(_containers(once))
    assert twice["extension"][0] == foreign
    # the same bytes as a run on a deep copy without our extensions (what deepcopy gave)
    bare = copy.deepcopy(once)
    bare["extension"] = [foreign]
    again = _run(bare, _result("example2-advil"), now=NOW + timedelta(days=1))
    assert json.dumps(again.document) == json.dumps(twice)


def test_document_without_extension_gets_it_last() -> None:
    doc = load_sample("example2-advil")
    doc.pop("extension", None)
    out = _run(doc, _result("example2-advil")).document
    assert list(out)[:-1] == list(doc)
    assert list(out)[-1] == "extension"
