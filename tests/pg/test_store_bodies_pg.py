"""A PostgreSQL search page: its bodies left unparsed until used, spliced into responses."""

from __future__ import annotations

import json

import orjson

from api.errors import response_json
from api.search import parse_search
from api.store import postgres as pg
from api.store.base import EnrichmentWrite
from api.store.codec import LazyResource
from tests.adapters.test_store_bodies import conditions, document
from tests.fakes import FixedClock


def test_a_page_stays_unparsed_and_reads_as_written(pg_url: str) -> None:
    db = pg.Database(pg_url)
    try:
        store = pg.PgFhirStore(db, clock=FixedClock())
        for n in range(2):
            store.apply(EnrichmentWrite(document(f"d{n}"), conditions(f"d{n}")))
        big = {"resourceType": "Observation", "id": "big", "n": 2**70}
        store.save_all([big])
        page = store.execute(parse_search("DocumentReference", [("_sort", "_id")])).matches
        assert [type(r) for r in page] == [LazyResource, LazyResource]
        assert [r["id"] for r in page] == ["d0", "d1"]
        assert all(r.raw is not None for r in page)  # type: ignore[attr-defined]
        expected = [store.read("DocumentReference", f"d{n}") for n in range(2)]
        assert orjson.loads(response_json(page)) == expected
        assert page == expected
        basic = store.execute(parse_search("Observation", [])).matches
        assert json.loads(response_json(basic))[0]["n"] == 2**70  # exact, not a float
        assert store.search("Observation", [])["entry"][0]["resource"]["n"] == 2**70
    finally:
        db.close()
