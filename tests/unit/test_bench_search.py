"""``docref-nlp bench-search``: every query timed in the store and through the API."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.bench.search import QUERIES, build, timings
from cli.main import app


def test_every_query_is_timed_in_the_store_and_over_http(tmp_path: Path) -> None:
    path = str(tmp_path / "search.sqlite")
    assert build(path, 16) > 0
    rows = timings(path, repeat=1)
    assert [r["query"] for r in rows] == [q[0] for q in QUERIES] + ["read a document by id"]
    by_label = {r["query"]: r for r in rows}
    concept = by_label["concept-code lookup"]
    assert concept["total"] == 2  # two of the 16 notes are the sample with that code
    assert concept["http_bytes"] > 10_000  # the page's two documents, with their aws-cm trees
    assert by_label["status + _count=0"]["total"] == 16
    assert by_label["_id + _include nlp-generated"]["included"] > 0
    for row in rows[:-1]:
        assert row["ms"] >= 0
        assert row["http_ms"] > 0
        assert row["http_bytes"] > 0


def test_the_table_names_both_figures() -> None:
    result = CliRunner().invoke(app, ["bench-search", "--count", "10", "--repeat", "1"])
    assert result.exit_code == 0, result.output
    assert "store ms" in result.output
    assert "http ms" in result.output
    assert "concept-code lookup" in result.output
