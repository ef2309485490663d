"""``docref-nlp analyze``: run an engine on a note (or JSON lines), print Comprehend JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    return Path(source).read_text(encoding="utf-8")


def _jsonl_rows(text: str) -> Iterator[tuple[Any, str]]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            yield row["id"], str(row["text"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise typer.BadParameter(
                f'[NLP256] line {n}: expected {{"id": ..., "text": ...}}: {type(exc).__name__}'
            ) from exc


def analyze(
    source: str = typer.Argument("-", metavar="[FILE|-]", help="Text file, or - for stdin."),
    engine: str = typer.Option(
        "local", "--engine", help="Engine spec: local, local:ASSETS_DIR, comprehend, replay:PATH."
    ),
    jsonl: bool = typer.Option(
        False,
        "--jsonl",
        help='Input lines {"id":..., "text":...}; output {"id":..., "result":...}.',
    ),
    indent: int = typer.Option(2, "--indent", help="JSON indent for a single result (0: compact)."),
) -> None:
    """Print the three Comprehend Medical responses (replay-file shape) for a note."""
    from nlp.base import EngineError
    from nlp.factory import make_engine

    data = _read(source)
    try:
        nlp_engine = make_engine(engine)
    except EngineError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if not jsonl:
        if not data.strip():
            typer.echo("[NLP257] empty input", err=True)
            raise typer.Exit(2)
        result = nlp_engine.analyze(data)
        typer.echo(json.dumps(result.to_aws(), indent=indent or None, ensure_ascii=False))
        return
    rows = list(_jsonl_rows(data))
    many = getattr(nlp_engine, "analyze_many", None)
    if many is not None:
        results = many(text for _, text in rows)
    else:
        results = (nlp_engine.analyze(text) for _, text in rows)
    out = sys.stdout
    for (row_id, _), result in zip(rows, results, strict=True):
        out.write(json.dumps({"id": row_id, "result": result.to_aws()}, ensure_ascii=False))
        out.write("\n")
    out.flush()
