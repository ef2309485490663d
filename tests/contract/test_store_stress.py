"""Several processes enrich, re-enrich and delete the same documents; the database stays whole.

Runs on both backends (the ``backend`` fixture of the store contract). Slow: ``--slow``.
"""

from __future__ import annotations

import multiprocessing
import random

import pytest

from api.store.base import EnrichmentWrite, NlpState
from tests.contract.conftest import Backend, open_backend
from tests.contract.test_store_contract import condition, doc, rows

pytestmark = pytest.mark.slow

DOCS = [f"sd{i}" for i in range(4)]

# Each query lists what must not exist; the same SQL runs on SQLite and PostgreSQL. Documents
# keep every version in ``history``; generated resources (the Conditions here) only their
# deletions, their current version being the ``resources`` row (api/store/sql.py).
INVARIANTS = {
    "history has a gap or a duplicate": (
        "SELECT type, id FROM history WHERE type = 'DocumentReference' "
        "GROUP BY type, id HAVING COUNT(*) <> MAX(version_id)"
    ),
    "generated resource with a history row that is no deletion": (
        "SELECT type, id FROM history WHERE type = 'Condition' AND method <> 'DELETE'"
    ),
    "current row is not the latest version": (
        "SELECT r.type, r.id FROM resources r JOIN (SELECT type, id, MAX(version_id) AS v "
        "FROM history GROUP BY type, id) h ON h.type = r.type AND h.id = r.id "
        "WHERE (r.type = 'DocumentReference' AND r.version_id <> h.v) OR r.version_id < h.v"
    ),
    "deleted resource still current": (
        "SELECT h.type, h.id FROM history h JOIN resources r ON r.type = h.type AND r.id = h.id "
        "WHERE h.method = 'DELETE' AND h.version_id >= r.version_id"
    ),
    "generated resource without its document": (
        "SELECT r.type, r.id FROM resources r WHERE r.source_doc IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM resources d WHERE d.type = 'DocumentReference' AND d.id = r.source_doc)"
    ),
    "search values of a resource that is gone": (
        "SELECT rid FROM search_date EXCEPT SELECT rid FROM resources"
    ),
    "NLP state of a document that is gone": (
        "SELECT doc_id FROM nlp_documents EXCEPT SELECT id FROM resources "
        "WHERE type = 'DocumentReference'"
    ),
}
#: Rows of a document are keyed by ``dkey`` on PostgreSQL, by a key holding it on SQLite.
NLP_ROWS_DKEY = {"sqlite": "key >> 20", "postgres": "dkey"}


def _ids(backend: Backend, resource_type: str, params: list[tuple[str, str]]) -> set[str]:
    bundle = backend.store.search(resource_type, [*params, ("_count", "1000")])
    return {e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"}


def _included(backend: Backend, doc_id: str) -> set[str]:
    params = [("_id", doc_id), ("_include", "DocumentReference:nlp-generated")]
    bundle = backend.store.search("DocumentReference", params)
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == "include"
    }


def _churn(url: str, seed: int, operations: int) -> None:
    """Child process: random enrichments (varying generated sets) and deletions."""
    chance = random.Random(seed)
    opened = open_backend(url)
    try:
        for n in range(operations):
            doc_id = chance.choice(DOCS)
            if chance.random() < 0.15:
                opened.store.delete("DocumentReference", doc_id)
                continue
            kept = sorted(chance.sample(range(5), chance.randint(0, 4)))
            generated = [condition(f"{doc_id}-c{k}", f"J0{k}.0") for k in kept]
            opened.store.apply(
                EnrichmentWrite(
                    document=doc(doc_id, description=f"run {seed}-{n}"),
                    generated=generated,
                    rows=rows(*[("infer-icd10", f"t{k}", 0.5, f"J0{k}.0", "d") for k in kept]),
                    state=NlpState(status="SUCCESS", text_hash=f"{seed}-{n}"),
                )
            )
    finally:
        opened.db.close()


def test_concurrent_enrichments_keep_every_invariant(backend: Backend) -> None:
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_churn, args=(backend.url, s, 25)) for s in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(300)
        assert process.exitcode == 0
    broken = {}
    orphans = (
        f"SELECT {NLP_ROWS_DKEY[backend.name]} FROM nlp_rows EXCEPT SELECT dkey FROM nlp_documents"
    )
    with backend.db.read() as conn:
        for name, sql in {**INVARIANTS, "NLP rows without their document": orphans}.items():
            found = conn.execute(sql).fetchall()
            if found:
                broken[name] = found[:5]
        generated = conn.execute("SELECT COUNT(*) FROM history").fetchone()
        if backend.name == "sqlite":  # the term index (FTS5) checks its own structure
            conn.execute(
                "INSERT INTO search_terms (search_terms, rank) VALUES ('integrity-check', 0)"
            )
    assert broken == {}
    assert generated is not None
    assert generated[0] > 100  # the processes really wrote
    for doc_id in DOCS:  # what the API answers agrees with the tables
        live = backend.store.read("DocumentReference", doc_id) is not None
        assert (backend.index.state(doc_id) is not None) == live
        generated = backend.store.generated_from(doc_id)
        assert bool(generated) <= live
        # derived-from, nlp-generated and the value index find exactly the live resources
        assert _included(backend, doc_id) == set(generated)
        found = _ids(backend, "Condition", [("derived-from", f"DocumentReference/{doc_id}")])
        assert {f"Condition/{i}" for i in found} == set(generated)
        for ref in generated:
            body = backend.store.read(*ref.split("/"))
            assert body is not None
            code = body["code"]["coding"][0]["code"]
            assert body["id"] in _ids(backend, "Condition", [("code", code)])
        with_rows = backend.index.find([]) if live else set()
        assert (doc_id in with_rows) == live
    for k in range(5):  # no search value of a deleted or superseded version answers
        code = f"J0{k}.0"
        live_codes = {
            ref.split("/")[1]
            for doc_id in DOCS
            for ref in backend.store.generated_from(doc_id)
            if (body := backend.store.read(*ref.split("/"))) is not None
            and body["code"]["coding"][0]["code"] == code
        }
        assert _ids(backend, "Condition", [("code", code)]) == live_codes
        # each write indexed the codes of the Conditions it generated
        nlp = _ids(backend, "DocumentReference", [("infer-icd10cm-entity-concept-code", code)])
        assert nlp == {cid.split("-")[0] for cid in live_codes}
