"""``keyed_rows`` against the key terms (``by_keys``) after random writes: enrichments whose
generated ids also exist under other documents or as rows of no document, plain overwrites of
generated resources, deletes and re-creations, ids that differ only in case. Whatever source a
key is expected under, it finds the one row of that key, as the term index does."""

from __future__ import annotations

import random
from typing import Any

from api.store.base import EnrichmentWrite
from api.store.sqlite import Database, SqliteFhirStore
from api.store.sqlite_search import by_keys, keyed_rows
from tests.fakes import FixedClock

SELECT = "SELECT t.type, t.id, t.source_doc, t.version_id, t.rid"
IDS = ["c1", "C1", "c2", "c-3.x", "d1", "d2"]
DOCS = ["d1", "d2", "d3"]


def _resource(resource_type: str, rid: str, code: str) -> dict[str, Any]:
    return {"resourceType": resource_type, "id": rid, "code": {"coding": [{"code": code}]}}


def _step(store: SqliteFhirStore, rng: random.Random) -> None:
    action = rng.choice(["enrich", "enrich", "plain", "delete", "delete-doc"])
    code = rng.choice(["J02.0", "R51"])
    if action == "enrich":
        doc_id = rng.choice(DOCS)
        kinds = rng.sample(IDS[:4], rng.randint(0, 3))
        generated = [_resource(rng.choice(["Condition", "Observation"]), i, code) for i in kinds]
        document = {"resourceType": "DocumentReference", "id": doc_id, "status": "current"}
        store.apply(EnrichmentWrite(document=document, generated=generated))
    elif action == "plain":
        store.save_all([_resource(rng.choice(["Condition", "Observation"]), rng.choice(IDS), code)])
    elif action == "delete":
        store.delete(rng.choice(["Condition", "Observation"]), rng.choice(IDS))
    else:
        store.delete("DocumentReference", rng.choice(DOCS))


def test_keyed_rows_find_what_the_key_terms_find_wherever_a_key_is_expected() -> None:
    types = ["Condition", "Observation", "DocumentReference"]
    keys = [(t, i) for t in types for i in IDS]
    for seed in range(12):
        rng = random.Random(seed)
        store = SqliteFhirStore(Database(":memory:"), clock=FixedClock())
        for _ in range(25):
            _step(store, rng)
            with store.db.read() as conn:
                # one current row per key, wherever it lives
                dupes = conn.execute(
                    "SELECT type, id FROM resources GROUP BY type, id HAVING COUNT(*) > 1"
                ).fetchall()
                assert dupes == []
                expected = {(r[0], r[1]): tuple(r) for r in by_keys(conn, SELECT, keys)}
                sources = [rng.choice([None, *DOCS]) for _ in keys]
                got = keyed_rows(conn, SELECT, keys, sources)
                assert len(got) == len(expected)
                assert {(r[0], r[1]): tuple(r) for r in got} == expected
                for key in keys:  # one key at a time, under each source
                    want = [expected[key]] if key in expected else []
                    for source in [None, *DOCS]:
                        assert [tuple(r) for r in keyed_rows(conn, SELECT, [key], [source])] == want
            for resource_type, rid in keys:  # reads and versions agree with the rows
                found = store.read(resource_type, rid)
                row = expected.get((resource_type, rid))
                assert (found is None) == (row is None)
                if row is not None and found is not None:
                    assert found["meta"]["versionId"] == str(row[3])
                    assert store.current_version(resource_type, rid) == (str(row[3]), False)
