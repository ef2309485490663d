"""Stored bodies on the read path: zstd bodies, the zlib bodies of databases written before,
search pages left unparsed until used (``LazyResource``), and responses that splice them."""

from __future__ import annotations

import copy
import json
import pickle
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import response_json
from api.search import parse_search
from api.store.base import EnrichmentWrite
from api.store.codec import (
    ZSTD_MAGIC,
    LazyResource,
    decode_body,
    decompress,
    dump_bytes,
    encode_body,
    parsed,
)
from api.store.factory import open_store
from api.store.sqlite import SqliteFhirStore
from tests.api.conftest import make_settings
from tests.fakes import FixedClock

#: Large enough to be stored compressed (``codec.COMPRESS_AT``).
NOTE = "Patient reports a sore throat and fever for three days. " * 60


def document(doc_id: str, patient: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "subject": {"reference": f"Patient/{patient}"},
        "description": NOTE,
        "extension": [{"url": "http://example.org/score", "valueDecimal": 0.00001}],
    }


def conditions(doc_id: str) -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "Condition",
            "id": f"{doc_id}-c{n}",
            "subject": {"reference": "Patient/p1"},
            "code": {"text": f"finding {n} é"},
        }
        for n in range(3)
    ]


def filled(path: Path) -> tuple[Any, SqliteFhirStore]:
    db, store, _ = open_store(str(path), clock=FixedClock())
    assert isinstance(store, SqliteFhirStore)
    for n in range(3):
        store.apply(EnrichmentWrite(document(f"d{n}"), conditions(f"d{n}")))
    return db, store


def answers(store: SqliteFhirStore) -> list[Any]:
    """What the store answers: reads, a search with includes, a page as JSON."""
    include = [("_include", "DocumentReference:nlp-generated"), ("_sort", "_id")]
    page = store.execute(parse_search("DocumentReference", [("_sort", "_id")]))
    return [
        store.read("DocumentReference", "d1"),
        store.read("Condition", "d2-c1"),
        store.search("DocumentReference", include),
        orjson.loads(response_json({"entry": page.matches})),
    ]


def test_new_bodies_are_zstd_and_zlib_ones_written_before_read_the_same(tmp_path: Path) -> None:
    db, store = filled(tmp_path / "s.sqlite")
    try:
        before = answers(store)
        with db.transaction() as conn:
            blobs = [
                *conn.execute("SELECT 'resources', rid, json FROM resources WHERE bid IS NULL"),
                *conn.execute("SELECT 'bodies', bid, data FROM bodies"),
            ]
            assert blobs
            assert all(bytes(b[2][:4]) == ZSTD_MAGIC for b in blobs)
            for table, key, blob in blobs:  # as the release before wrote them: zlib
                column, key_column = ("json", "rid") if table == "resources" else ("data", "bid")
                conn.execute(
                    f"UPDATE {table} SET {column} = ? WHERE {key_column} = ?",
                    (zlib.compress(decompress(blob), 1), key),
                )
        assert answers(store) == before
        assert before[0] == {**document("d1"), "meta": before[0]["meta"]}
    finally:
        db.close()


def test_a_page_stays_unparsed_until_used(tmp_path: Path) -> None:
    db, store = filled(tmp_path / "s.sqlite")
    try:
        query = parse_search("DocumentReference", [("_sort", "_id")])
        page = store.execute(query).matches
        assert [type(r) for r in page] == [LazyResource] * 3
        first = page[0]
        assert isinstance(first, LazyResource)
        assert (first["resourceType"], first["id"], first.raw is not None) == (
            "DocumentReference",
            "d0",
            True,
        )
        expected = store.read("DocumentReference", "d0")
        assert first.get("description") == NOTE
        assert first.raw is None
        assert first == expected
        assert dict(first) == expected
        assert {**first} == expected
        others = store.execute(query).matches
        assert copy.deepcopy(others[1]) == store.read("DocumentReference", "d1")
        assert pickle.loads(pickle.dumps(others[2])) == store.read("DocumentReference", "d2")
        fresh = store.execute(query).matches
        assert json.loads(json.dumps(fresh[0])) == expected  # the standard library parses it
        assert "description" in store.execute(query).matches[0]
        assert len(store.execute(query).matches[0]) == len(expected or {})
        # includes: ids from the row, the generated bodies spliced from their bundle
        with_included = store.execute(
            parse_search(
                "DocumentReference",
                [("_id", "d1"), ("_include", "DocumentReference:nlp-generated")],
            )
        )
        assert [r.raw is not None for r in with_included.matches] == [True]  # type: ignore[attr-defined]
        assert [r["id"] for r in with_included.included] == ["d1-c0", "d1-c1", "d1-c2"]
        assert orjson.loads(response_json(with_included.included)) == conditions_as_stored(
            store, "d1"
        )
    finally:
        db.close()


def conditions_as_stored(store: SqliteFhirStore, doc_id: str) -> list[Any]:
    return [store.read("Condition", f"{doc_id}-c{n}") for n in range(3)]


def test_an_unparsed_body_is_written_as_stored() -> None:
    value = document("d9")
    raw = dump_bytes(value)
    lazy = LazyResource(raw, "DocumentReference", "d9")
    assert dump_bytes({"resource": lazy}) == b'{"resource":' + raw + b"}"
    assert lazy.raw is not None  # spliced, not parsed
    assert decode_body(encode_body(LazyResource(raw, "DocumentReference", "d9"))) == value
    assert parsed(lazy) is lazy
    assert lazy.raw is None
    assert lazy == value
    plain = {"a": 1}
    assert parsed(plain) is plain


def test_integers_beyond_64_bits_stay_exact_through_a_page() -> None:
    value = {"resourceType": "Basic", "id": "b", "n": 2**70, "text": "x" * 3000}
    raw = dump_bytes(value)
    assert raw[:1] == b" "  # written by the standard library
    lazy = LazyResource(raw, "Basic", "b")
    assert json.loads(response_json({"entry": [lazy]})) == {"entry": [value]}
    assert json.loads(dump_bytes({"entry": [LazyResource(raw, "Basic", "b")]})) == {
        "entry": [value]
    }


def test_a_lazy_resource_that_is_changed_is_written_as_changed() -> None:
    lazy = LazyResource(dump_bytes(document("d1")), "DocumentReference", "d1")
    lazy["status"] = "superseded"
    del lazy["extension"]
    assert orjson.loads(response_json(lazy)) == {
        **{k: v for k, v in document("d1").items() if k != "extension"},
        "status": "superseded",
    }
    other = LazyResource(dump_bytes({"id": "x"}), "Basic", "x")
    merged = {"resourceType": "Basic"} | other
    assert merged == {"resourceType": "Basic", "id": "x"}


@pytest.mark.parametrize("body", [{"a": [1, 0.5, "é", None, True]}, {"n": 2**70}, {1: "x"}])
def test_responses_are_compact_json_of_the_same_value(body: dict[Any, Any]) -> None:
    content = response_json(body)
    assert json.loads(content) == json.loads(json.dumps(body))
    assert content == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def test_a_search_over_http_answers_the_stored_json(tmp_path: Path) -> None:
    path = tmp_path / "api.sqlite"
    db, store = filled(path)
    expected = [store.read("DocumentReference", f"d{n}") for n in range(3)]
    db.close()
    app = create_app(make_settings(db_path=str(path)), clock=FixedClock())
    with TestClient(app) as client:
        response = client.get("/DocumentReference", params={"_sort": "_id"})
        assert response.status_code == 200
        bundle = response.json()
        assert [e["resource"] for e in bundle["entry"]] == expected
        assert [e["fullUrl"].rsplit("/", 2)[1:] for e in bundle["entry"]] == [
            ["DocumentReference", f"d{n}"] for n in range(3)
        ]
        # the stored JSON spliced: compact, floats as orjson spells them
        assert response.content == orjson.dumps(bundle)
        assert b'"valueDecimal":0.00001' in response.content
