"""``docref-nlp enrich``: enrich one DocumentReference file and print the transaction Bundle."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

EXIT_INPUT = 2
EXIT_ENGINE = 3


def _fail(message: str, code: int = EXIT_INPUT) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _read_docref(path: Path) -> dict[str, Any]:
    from enrich.fhir import FhirValidationError, validate_resource

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(f"[NLP250] cannot read {path}: {exc.strerror or type(exc).__name__}") from exc
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(f"[NLP251] {path} is not JSON: {type(exc).__name__}") from exc
    if not isinstance(doc, dict) or doc.get("resourceType") != "DocumentReference":
        raise _fail(f"[NLP252] {path} is not a DocumentReference")
    try:
        validate_resource(doc)
    except FhirValidationError as exc:
        raise _fail(f"[NLP252] invalid DocumentReference in {path}: {exc}") from exc
    if not doc.get("id"):
        # Deterministic for one file's content, so repeated runs print the same Bundle ids.
        doc["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "docref-nlp:file:" + raw.hex()[:4096]))
    return doc


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _fail(f"[NLP254] --now must be an ISO 8601 date-time, got {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def enrich(
    docref: Annotated[Path, typer.Argument(help="DocumentReference JSON file.")],
    engine: Annotated[
        str, typer.Option(help="comprehend | replay:PATH | local[:ASSETS_DIR]")
    ] = "local",
    profile: Annotated[str, typer.Option(help="clinical (default) | healthlake")] = "clinical",
    min_score: Annotated[
        float | None, typer.Option(help="clinical: minimum top-concept score (default 0.5)")
    ] = None,
    region: Annotated[str | None, typer.Option(help="AWS region for comprehend")] = None,
    now: Annotated[
        str | None, typer.Option(help="Timestamp to write (ISO 8601), for reproducible output")
    ] = None,
    compact: Annotated[bool, typer.Option(help="Print JSON on one line")] = False,
) -> None:
    """Enrich one DocumentReference and print the FHIR transaction Bundle on stdout.

    The Bundle PUTs the enriched DocumentReference and every generated resource. Errors are
    printed on stderr with a code: exit 2 for bad input, 3 for engine failures.
    """
    from enrich import EnrichmentPolicy, enrich_document
    from enrich.text import extract_text
    from nlp.base import EngineError
    from nlp.factory import make_engine

    if profile not in ("clinical", "healthlake"):
        raise _fail(f"[NLP255] unknown profile {profile!r}; expected clinical or healthlake")
    settings: dict[str, Any] = {"profile": profile}
    if min_score is not None:
        if not 0.0 <= min_score <= 1.0:
            raise _fail(f"[NLP255] --min-score must be within 0..1, got {min_score}")
        settings["min_score"] = min_score
    policy = EnrichmentPolicy.model_validate(settings)
    timestamp = _parse_now(now)
    doc = _read_docref(docref)

    extracted = extract_text(doc)
    if extracted is not None and extracted.needs_fetch:
        raise _fail(
            "[NLP253] the text attachment is a url (a Binary); this command reads inline "
            "attachment data only (the service reads Binaries from its store)"
        )
    try:
        nlp_engine = make_engine(engine, region=region)
        text = extracted.text if extracted is not None else None
        result = nlp_engine.analyze(text) if text is not None else None
    except EngineError as exc:
        raise _fail(str(exc), EXIT_ENGINE) from exc

    enrichment = enrich_document(
        doc,
        result,
        policy=policy,
        now=timestamp,
        engine_name=nlp_engine.name,
        engine_version=nlp_engine.version,
    )
    bundle = enrichment.transaction_bundle()
    indent = None if compact else 2
    typer.echo(json.dumps(bundle, indent=indent, ensure_ascii=False))
