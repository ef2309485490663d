"""Store contract: the embedded SQLite store and the PostgreSQL store behave the same.

Every test runs on both backends (``backend`` is parametrised); expectations are written once.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from api.search import SearchQuery, parse_nlp, parse_search
from api.store.base import (
    AtomicEnrichmentStore,
    EnrichmentWrite,
    FhirStore,
    NlpIndex,
    NlpState,
    ResourceGone,
    StoreError,
    VersionConflict,
)
from enrich.index import IndexRow
from tests.contract.conftest import Backend, open_backend


def patient(pid: str = "p1", family: str = "Doe", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": family}], **extra}


def doc(doc_id: str = "d1", *, patient_id: str = "p1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "subject": {"reference": f"Patient/{patient_id}"},
        **extra,
    }


def condition(cid: str, code: str, *, patient_id: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]},
    }


def rows(*specs: tuple[str, str, float, str | None, str | None]) -> list[IndexRow]:
    """``(operation, text, score, concept code, concept description)`` -> index rows."""
    return [
        IndexRow(
            operation=op,  # type: ignore[arg-type]
            entity_index=i,
            entity_id=i,
            text=text,
            category="MEDICAL_CONDITION",
            type="DX_NAME",
            score=score,
            concept_index=0 if code else None,
            concept_code=code,
            concept_description=desc,
            concept_score=score / 2 if code else None,
        )
        for i, (op, text, score, code, desc) in enumerate(specs)
    ]


def enrichment(doc_id: str, generated: list[dict[str, Any]], **kwargs: Any) -> EnrichmentWrite:
    return EnrichmentWrite(
        document=doc(doc_id),
        generated=generated,
        rows=kwargs.pop("rows", []),
        state=kwargs.pop("state", NlpState(status="SUCCESS", text_hash="h1", result={"b": 1})),
        **kwargs,
    )


# --------------------------------------------------------------------------- protocols


def test_implements_the_protocols(backend: Backend) -> None:
    assert isinstance(backend.store, FhirStore)
    assert isinstance(backend.store, AtomicEnrichmentStore)
    assert isinstance(backend.index, NlpIndex)


# --------------------------------------------------------------------------- versions


def test_versions_history_vread_and_no_op_writes(backend: Backend) -> None:
    store = backend.store
    first = store.save_all([patient(meta={"versionId": "99", "tag": [{"code": "x"}]})])[0]
    assert first["meta"]["versionId"] == "1"  # the client's versionId is not kept
    assert first["meta"]["tag"] == [{"code": "x"}]
    assert first["meta"]["lastUpdated"] == "2026-01-02T03:04:05.000Z"
    assert list(first)[:3] == ["resourceType", "id", "meta"]
    # same content (server meta aside): nothing written, the stored version returned
    again = store.save_all([{**patient(), "meta": {"tag": [{"code": "x"}], "versionId": "1"}}])
    assert again[0] == first
    second = store.save_all([patient(family="Roe")])[0]
    assert second["meta"]["versionId"] == "2"
    assert "tag" not in second["meta"]
    assert store.read("Patient", "p1") == second
    assert store.current_version("Patient", "p1") == ("2", False)
    history = store.history("Patient", "p1")
    assert [(h.version_id, h.method) for h in history] == [("2", "PUT"), ("1", "POST")]
    assert history[1].resource == first
    with backend.db.read() as conn:  # each body stored once: v2 lives in ``resources`` only
        assert (
            conn.execute("SELECT COUNT(*) FROM history WHERE json IS NOT NULL").fetchone()[0] == 1
        )
    assert store.vread("Patient", "p1", "1") == first
    assert store.vread("Patient", "p1", "3") is None
    assert store.vread("Patient", "p1", "x") is None
    assert store.vread("Patient", "p1", "99999999999999") is None
    assert store.read("Patient", "nobody") is None
    assert store.current_version("Patient", "nobody") is None


def test_delete_then_recreate_continues_the_history(backend: Backend) -> None:
    store = backend.store
    store.save_all([patient()])
    assert store.delete("Patient", "p1") == "2"
    assert store.delete("Patient", "p1") is None  # nothing left to delete
    assert store.read("Patient", "p1") is None
    assert store.current_version("Patient", "p1") == ("2", True)
    with pytest.raises(ResourceGone):
        store.vread("Patient", "p1", "2")
    recreated = store.save_all([patient()])[0]
    assert recreated["meta"]["versionId"] == "3"
    assert [
        (h.version_id, h.method, h.resource is None) for h in store.history("Patient", "p1")
    ] == [
        ("3", "PUT", False),
        ("2", "DELETE", True),
        ("1", "POST", False),
    ]


def test_save_all_is_one_transaction(backend: Backend) -> None:
    store = backend.store
    store.save_all([patient("a"), patient("b")])
    with pytest.raises(StoreError) as caught:
        store.save_all([patient("a", family="Changed"), {"resourceType": "Patient"}])
    assert caught.value.code == "NLP422"
    assert store.read("Patient", "a")["name"] == [{"family": "Doe"}]  # rolled back
    out = store.save_all([patient("c")], delete=["Patient/a", "Patient/zzz"])
    assert [r["id"] for r in out] == ["c"]
    assert store.read("Patient", "a") is None


def test_nested_transactions_roll_back_together(backend: Backend) -> None:
    """``api/transactions.py`` wraps several store writes in ``db.transaction()``."""
    store = backend.store
    with pytest.raises(RuntimeError), backend.db.transaction():  # noqa: PT012
        store.save_all([patient("t1")])
        store.apply(enrichment("dt", [condition("ct", "J02.0")]))
        assert store.read("Patient", "t1") is not None  # visible inside
        raise RuntimeError("abort the bundle")
    assert store.read("Patient", "t1") is None
    assert store.read("DocumentReference", "dt") is None
    assert store.index.state("dt") is None
    with backend.db.transaction():
        store.save_all([patient("t2")])
        store.delete("Patient", "t2")
    assert store.current_version("Patient", "t2") == ("2", True)


# --------------------------------------------------------------------------- enrichment


def test_apply_writes_everything_and_retires_what_is_no_longer_generated(
    backend: Backend,
) -> None:
    store, index = backend.store, backend.index
    stored = store.apply(
        enrichment(
            "d1",
            [condition("c1", "J02.0"), condition("c2", "H66.90")],
            rows=rows(("infer-icd10", "Strep throat", 0.9, "J02.0", "Streptococcal pharyngitis")),
        )
    )
    assert [r["id"] for r in stored] == ["d1", "c1", "c2"]
    assert all(r["meta"]["versionId"] == "1" for r in stored)
    assert store.generated_from("d1") == ["Condition/c1", "Condition/c2"]
    state = index.state("d1")
    assert state is not None
    assert (state.status, state.text_hash, state.result) == ("SUCCESS", "h1", {"b": 1})
    assert state.updated == stored[0]["meta"]["lastUpdated"]
    # computed references both ways
    assert _ids(store.search("Condition", [("derived-from", "DocumentReference/d1")])) == [
        "c1",
        "c2",
    ]
    assert _ids(store.search("DocumentReference", [("nlp-generated", "Condition/c2")])) == ["d1"]

    # second run: c2 no longer produced, c3 new, c1 unchanged (no new version)
    stored = store.apply(enrichment("d1", [condition("c1", "J02.0"), condition("c3", "R51")]))
    assert [r["meta"]["versionId"] for r in stored] == ["1", "1", "1"]  # doc content unchanged
    assert store.generated_from("d1") == ["Condition/c1", "Condition/c3"]
    assert store.current_version("Condition", "c2") == ("2", True)
    assert _ids(store.search("DocumentReference", [("nlp-generated", "Condition/c2")])) == []
    assert index.find([parse_nlp("infer-icd10cm-entity-concept-code", None, "J02.0")]) == set()

    # an explicit retirement of a resource generated elsewhere is honoured too
    store.save_all([condition("other", "Z00")])
    store.apply(enrichment("d1", [condition("c1", "J02.0")], retired=["Condition/other"]))
    assert store.read("Condition", "other") is None
    assert store.generated_from("d1") == ["Condition/c1"]


def test_if_match_conflict_writes_nothing(backend: Backend) -> None:
    store, index = backend.store, backend.index
    store.apply(enrichment("d1", [condition("c1", "J02.0")]))
    with pytest.raises(VersionConflict):
        store.apply(
            enrichment(
                "d1",
                [condition("c9", "A00")],
                if_match="7",
                state=NlpState(status="UNSUPPORTED_CONTENT"),
            )
        )
    assert store.read("Condition", "c9") is None
    assert store.generated_from("d1") == ["Condition/c1"]
    assert index.state("d1").status == "SUCCESS"  # type: ignore[union-attr]
    with pytest.raises(VersionConflict):  # never existed
        store.apply(enrichment("new", [], if_match="1"))
    changed = doc("d1", description="edited")
    write = EnrichmentWrite(document=changed, if_match="1", state=NlpState(status="SUCCESS"))
    assert store.apply(write)[0]["meta"]["versionId"] == "2"


def test_a_failing_enrichment_leaves_no_trace(backend: Backend) -> None:
    store = backend.store
    with pytest.raises(StoreError):
        store.apply(enrichment("d1", [condition("c1", "J02.0"), {"resourceType": "Condition"}]))
    assert store.read("DocumentReference", "d1") is None
    assert store.read("Condition", "c1") is None
    assert store.index.state("d1") is None
    assert store.current_version("DocumentReference", "d1") is None


def test_deleting_a_document_deletes_its_generated_resources_and_index(backend: Backend) -> None:
    store, index = backend.store, backend.index
    store.apply(
        enrichment(
            "d1",
            [condition("c1", "J02.0")],
            rows=rows(("infer-icd10", "Strep", 0.9, "J02.0", "Strep")),
        )
    )
    assert store.delete("DocumentReference", "d1") == "2"
    assert store.read("Condition", "c1") is None
    assert store.current_version("Condition", "c1") == ("2", True)
    assert index.state("d1") is None
    assert index.find([]) == set()
    assert _ids(store.search("Condition", [("derived-from", "DocumentReference/d1")])) == []


# --------------------------------------------------------------------------- NLP index


def test_nlp_index_replace_find_state_remove(backend: Backend) -> None:
    index = backend.index
    index.replace(
        "d1",
        rows(
            ("infer-icd10", "Ménière's disease", 0.97, "H81.09", "Ménière's disease, unsp. ear"),
            ("detect-entities", "amoxicillin 50%_x", 0.99, None, None),
        ),
        state=NlpState(status="SUCCESS", engine_name="e", engine_version="1"),
    )
    index.replace("d2", rows(("infer-icd10", "strep", 0.5, "J02.0", "Strep")))  # no state
    index.replace("d3", [], state=NlpState(status="UNSUPPORTED_CONTENT"))
    no_concepts = rows(("detect-entities", "Fever", 0.4, None, None))  # NULL concept columns
    index.replace("d4", no_concepts, state=NlpState(status="SUCCESS"))
    assert set(index.find([parse_nlp("detectEntities-entity-text", None, "fev")])) == {"d4"}
    index.remove("d4")

    def find(name: str, raw: str, modifier: str | None = None) -> set[str]:
        return set(index.find([parse_nlp(name, modifier, raw)]))

    # documents are those with a state; d2 has rows but no state
    assert index.find([]) == {"d1", "d3"}
    assert find("infer-icd10cm-entity-text", "meniere") == {"d1"}  # accents and case folded
    assert find("infer-icd10cm-entity-text", "MENI") == {"d1"}
    assert find("infer-icd10cm-entity-text", "disease") == set()  # prefix only
    assert find("infer-icd10cm-entity-text", "disease", "contains") == {"d1"}
    assert find("infer-icd10cm-entity-text", "Ménière's disease", "exact") == {"d1"}
    assert find("infer-icd10cm-entity-text", "ménière's disease", "exact") == set()
    assert find("detectEntities-entity-text", "amoxicillin 50%", "contains") == {"d1"}
    assert find("detectEntities-entity-text", "amoxicillin 5_", "contains") == set()
    assert find("detectEntities-entity-text", "amoxicillin 5%") == set()  # LIKE escaped
    assert find("infer-icd10cm-entity-concept-code", "H81.09") == {"d1"}
    assert find("infer-icd10cm-entity-concept-code", "h81.09") == set()
    assert find("infer-icd10cm-entity-concept-description", "meniere") == {"d1"}
    assert find("infer-icd10cm-entity-score", "gt0.9") == {"d1"}
    assert find("infer-icd10cm-entity-score", "0.97") == {"d1"}
    assert find("infer-icd10cm-entity-score", "ne0.97") == set()
    assert find("infer-icd10cm-entity-concept-score", "le0.5") == {"d1"}
    assert find("detectEntities-entity-score", "ge0.99") == {"d1"}
    assert find("infer-icd10cm-entity-text-concept-code", "meniere|H81.09") == {"d1"}
    assert find("infer-icd10cm-entity-text-concept-code", "meniere|J02.0") == set()
    assert find("cm-decoration-status", "UNSUPPORTED_CONTENT,VALIDATION_ERROR") == {"d3"}
    state = index.state("d1")
    assert state is not None
    assert (state.engine_name, state.engine_version) == ("e", "1")
    assert state.updated == "2026-01-02T03:04:05.000Z"
    # rows replaced, state kept when not given
    index.replace("d1", rows(("infer-icd10", "otitis", 0.8, "H66.90", "Otitis media")))
    assert find("infer-icd10cm-entity-concept-code", "H81.09") == set()
    assert index.state("d1") == state
    index.remove("d1")
    assert index.state("d1") is None
    assert index.find([]) == {"d3"}


# --------------------------------------------------------------------------- search


def _ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def test_standard_search_sort_paging_and_includes(backend: Backend) -> None:
    store = backend.store
    docs = [
        doc("b-1", date="2021-12-01T10:00:00Z", category=[{"coding": [{"code": "note"}]}]),
        doc("aB", date="2020-06-15T08:30:00+02:00", patient_id="p2"),
        doc("ab", date="2021-12-01", status="superseded"),
        doc("A1", date="2019", author=[{"reference": "Practitioner/x"}]),
    ]
    store.save_all([patient("p1"), patient("p2"), condition("c1", "J02.0")])
    for one in docs:  # one instant each: the default order is the order of writing
        store.save_all([one])
    search = store.search

    # byte order of ids (SQLite's BINARY collation): upper case and digits first
    assert _ids(search("DocumentReference", [("_sort", "_id")])) == ["A1", "aB", "ab", "b-1"]
    assert _ids(search("DocumentReference", [("_sort", "-_id")])) == ["b-1", "ab", "aB", "A1"]
    assert _ids(search("DocumentReference", [("_sort", "date")])) == ["A1", "aB", "ab", "b-1"]
    # default order: lastUpdated, then id
    assert _ids(search("DocumentReference", [])) == ["b-1", "aB", "ab", "A1"]
    page = search("DocumentReference", [("_sort", "_id"), ("_count", "2"), ("_offset", "1")])
    assert page["total"] == 4
    assert _ids(page) == ["aB", "ab"]
    assert search("DocumentReference", [("_summary", "count")])["total"] == 4
    assert _ids(search("DocumentReference", [("subject", "Patient/p2")])) == ["aB"]
    assert _ids(search("DocumentReference", [("patient", "p1"), ("_sort", "_id")])) == [
        "A1",
        "ab",
        "b-1",
    ]
    assert _ids(search("DocumentReference", [("status:not", "current")])) == ["ab"]
    assert _ids(search("DocumentReference", [("category", "note")])) == ["b-1"]
    assert _ids(search("DocumentReference", [("_id", "ab,A1"), ("_sort", "_id")])) == [
        "A1",
        "ab",
    ]
    assert _ids(search("DocumentReference", [("date", "2021-12"), ("_sort", "_id")])) == [
        "ab",
        "b-1",
    ]
    assert _ids(search("DocumentReference", [("date", "lt2020-06-15")])) == ["A1"]
    assert _ids(search("DocumentReference", [("date", "2020-06-15T06:30:00Z")])) == ["aB"]
    assert _ids(search("DocumentReference", [("date", "ge2021-12-01T10:00:00Z")])) == [
        "b-1",
        "ab",
    ]
    assert _ids(search("DocumentReference", [("_lastUpdated", "ge2026-01-02")])) == [
        "b-1",
        "aB",
        "ab",
        "A1",
    ]
    later = search("DocumentReference", [("_lastUpdated", "gt2026-01-02T03:04:05.002Z")])
    assert _ids(later) == ["ab", "A1"]
    icd10 = "http://hl7.org/fhir/sid/icd-10-cm"
    assert _ids(search("Condition", [("code", f"{icd10}|J02.0")])) == ["c1"]
    assert _ids(search("Condition", [("code", "other|J02.0")])) == []
    included = search(
        "DocumentReference", [("_id", "aB"), ("_include", "DocumentReference:subject")]
    )
    assert _ids(included) == ["aB"]
    assert _ids(included, "include") == ["p2"]
    with pytest.raises(StoreError):
        store.execute(SearchQuery("Basic"))


def test_both_backends_answer_the_same(backend: Backend, tmp_path: Path) -> None:
    """Same writes, same queries: the bundles are identical to the embedded store's."""
    if backend.name == "sqlite":
        pytest.skip("the reference itself")
    reference = open_backend(str(tmp_path / "ref.sqlite"))
    try:
        for target in (reference, backend):
            target.store.save_all([patient("p1"), patient("p2")])
            for i in range(12):
                pid = f"p{i % 2 + 1}"
                target.store.apply(
                    enrichment(
                        f"d{i:02}",
                        [condition(f"c{i}", "R51" if i % 3 == 0 else "J02.0", patient_id=pid)],
                        rows=rows(("infer-icd10", f"text {i}", i / 12, "J02.0", "Strep")),
                    )
                )
        queries: list[tuple[str, list[tuple[str, str]]]] = [
            ("DocumentReference", []),
            ("DocumentReference", [("_count", "5"), ("_offset", "5"), ("_sort", "-_lastUpdated")]),
            ("Condition", [("patient", "p2"), ("_include", "Condition:subject")]),
            ("Condition", [("code", "R51"), ("_revinclude", "DocumentReference:nlp-generated")]),
            ("DocumentReference", [("infer-icd10cm-entity-score", "ge0.5")]),
            ("DocumentReference", [("infer-icd10cm-entity-text", "text 1")]),
            ("DocumentReference", [("_revinclude", "Condition:derived-from"), ("_sort", "-_id")]),
        ]
        for resource_type, params in queries:
            assert backend.store.search(resource_type, params) == reference.store.search(
                resource_type, params
            ), (resource_type, params)
        assert backend.store.history("DocumentReference", "d03") == reference.store.history(
            "DocumentReference", "d03"
        )
    finally:
        reference.db.close()


# --------------------------------------------------------------------------- concurrency


def _bump_many(url: str, worker: int, times: int) -> None:
    """Child process: update one shared Patient and enrich one shared document, ``times`` times."""
    opened = open_backend(url)
    try:
        for n in range(times):
            opened.store.save_all([patient("shared", family=f"w{worker}-{n}")])
            opened.store.apply(enrichment("shared-doc", [condition(f"w{worker}-c{n}", "J02.0")]))
    finally:
        opened.db.close()


def test_writers_in_several_processes_never_lose_a_version(backend: Backend) -> None:
    workers, times = 3, 8
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_bump_many, args=(backend.url, w, times)) for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    store = backend.store
    history = store.history("Patient", "shared")
    assert [int(h.version_id) for h in history] == list(range(workers * times, 0, -1))
    assert store.read("Patient", "shared")["meta"]["versionId"] == str(workers * times)
    # exactly one generated Condition survives: the last enrichment's, the others retired
    generated = store.generated_from("shared-doc")
    assert len(generated) == 1
    alive = [
        r["id"] for r in store.execute(parse_search("Condition", [("_count", "1000")])).matches
    ]
    assert [f"Condition/{i}" for i in alive] == generated
    assert (
        len(store.search("Condition", [("derived-from", "DocumentReference/shared-doc")])["entry"])
        == 1
    )


def test_deleting_what_never_existed_leaves_nothing_behind(backend: Backend) -> None:
    store = backend.store
    assert store.delete("Patient", "ghost") is None
    assert store.save_all([], delete=["Patient/ghost"]) == []
    assert store.current_version("Patient", "ghost") is None
    assert store.history("Patient", "ghost") == []
    if backend.name == "postgres":  # no head row left for a resource that was never written
        assert backend.db.query("SELECT COUNT(*) FROM heads") == [(0,)]
    assert store.save_all([patient("ghost")])[0]["meta"]["versionId"] == "1"
