"""The per-document function of a batch run, the same in-process, in worker processes and on Ray.

``plan`` (in the reader) decides whether a document needs the engine; ``DocProcessor`` (in a
worker) loads the engine once and turns a :class:`WorkItem` into a :class:`DocResult`.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.batch.cost import units_for
from api.batch.model import (
    CHECKPOINTED,
    NOT_SELECTED,
    PERMANENT_ERROR,
    TRANSIENT_ERROR,
    UNCHANGED,
    DocResult,
    EngineIdentity,
    WorkItem,
)
from nlp.base import EngineError, NlpEngine

log = logging.getLogger(__name__)

PYTHON_SPEC = "python:"


def build_engine(spec: str) -> NlpEngine:
    """An engine from a spec: ``local`` | ``comprehend`` | ``replay:PATH`` (``nlp.factory``), or
    ``python:module:factory[:ARG]`` (any importable factory, e.g. a test engine).
    """
    if spec.startswith(PYTHON_SPEC):
        module_name, _, rest = spec[len(PYTHON_SPEC) :].partition(":")
        attr, _, arg = rest.partition(":")
        factory: Callable[..., NlpEngine] = getattr(importlib.import_module(module_name), attr)
        return factory(arg) if arg else factory()
    from nlp.factory import make_engine  # type: ignore[import-not-found,unused-ignore]

    engine: NlpEngine = make_engine(spec)
    return engine


@dataclass(frozen=True)
class Selection:
    """Which documents a run processes.

    Attributes:
        force: Process even when text hash and engine version are unchanged.
        engine_version_below: Only documents whose recorded engine version is below this one
            (backfill); documents never processed are left out in this mode.
    """

    force: bool = False
    engine_version_below: str | None = None


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key of a version string: numeric parts compare as numbers.

    >>> version_key("1.10.0") > version_key("1.9.2")
    True
    >>> version_key("0.3.0+medspacy1.3") < version_key("0.4")
    True
    """
    import re

    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"[.+\-_/ ]", version)
        if part
    )


def is_older(recorded: str | None, below: str) -> bool:
    """True when a recorded engine version sorts before ``below``."""
    return recorded is not None and version_key(recorded) < version_key(below)


def plan(
    doc: dict[str, Any],
    *,
    identity: EngineIdentity,
    selection: Selection,
    is_done: Callable[[str, str], bool],
    fetch_binary: Callable[[str], bytes | None],
    profile: str | None = None,
) -> WorkItem | DocResult:
    """A :class:`WorkItem` when the document needs the engine, else the skip result.

    Order: text (fetching a ``url`` attachment), checkpoint of an interrupted run, version
    filter, loop guard (same text hash and engine), unless ``force``.
    """
    from enrich.core import needs_processing
    from enrich.extensions import read_project_info
    from enrich.text import content_hash, decode_text, extract_text

    doc_id = str(doc.get("id", ""))
    extracted = extract_text(doc)
    text: str | None = None
    if extracted is not None:
        text = extracted.text
        if extracted.needs_fetch and extracted.url is not None:
            data = fetch_binary(extracted.url)
            if data is None:
                return DocResult(
                    doc_id, "", PERMANENT_ERROR, error="[NLP611] attachment url not resolvable"
                )
            text, _ = decode_text(data, extracted.content_type)
            text = text if text.strip() else None
    text_hash = content_hash(text) if text is not None else ""
    if is_done(doc_id, text_hash):
        return DocResult(doc_id, text_hash, CHECKPOINTED)
    if selection.engine_version_below is not None:
        info = read_project_info(doc)
        recorded = info.engine_version if info is not None else None
        if not is_older(recorded, selection.engine_version_below):
            return DocResult(doc_id, text_hash, NOT_SELECTED)
    elif not selection.force and not needs_processing(
        doc, text_hash or None, identity.name, identity.version, profile=profile
    ):
        return DocResult(doc_id, text_hash, UNCHANGED)
    return WorkItem(doc=doc, text=text, text_hash=text_hash)


class DocProcessor:
    """Loads the engine once; each call analyses one document and enriches it.

    Args:
        engine_spec: See :func:`build_engine`.
        policy: ``EnrichmentPolicy`` fields (``{"profile": "clinical", "min_score": 0.5}``).
        now: ISO instant recorded in every enriched document of the run (one clock per run).
        for_store: Also return the NLP index rows and the full NLP result (the service store
            keeps them for search and ``$nlp``); other sinks do not need them.
    """

    def __init__(
        self,
        engine_spec: str,
        policy: dict[str, Any] | None = None,
        now: str | None = None,
        *,
        for_store: bool = False,
    ) -> None:
        from enrich.policy import EnrichmentPolicy

        self.engine = build_engine(engine_spec)
        self.policy = EnrichmentPolicy.model_validate(policy or {})
        self.now = datetime.fromisoformat(now) if now else datetime.now().astimezone()
        self.for_store = for_store

    @property
    def identity(self) -> EngineIdentity:
        return EngineIdentity(self.engine.name, self.engine.version)

    def __call__(self, item: WorkItem) -> DocResult:
        from enrich.core import enrich_document

        doc_id = item.doc_id
        started = time.process_time()
        try:
            result = self.engine.analyze(item.text) if item.text is not None else None
            enrichment = enrich_document(
                item.doc,
                result,
                policy=self.policy,
                now=self.now,
                engine_name=self.engine.name,
                engine_version=self.engine.version,
                text=item.text,
            )
        except EngineError as exc:
            outcome = TRANSIENT_ERROR if exc.transient else PERMANENT_ERROR
            return DocResult(doc_id, item.text_hash, outcome, error=str(exc))
        except Exception as exc:  # a bug or bad input: never log the message (may hold PHI)
            code = str(exc)[:8] if str(exc).startswith("[NLP") else "[NLP690]"
            return DocResult(
                doc_id, item.text_hash, PERMANENT_ERROR, error=f"{code} {type(exc).__name__}"
            )
        return DocResult.enriched(
            doc_id,
            item.text_hash,
            enrichment.resources(),
            enrichment_status=enrichment.status,
            retired=list(enrichment.retired),
            index_rows=[r.model_dump() for r in enrichment.index_rows] if self.for_store else [],
            chars=len(item.text or ""),
            nlp_result=result.to_aws() if self.for_store and result is not None else None,
            units=units_for(item.text) if item.text is not None else {},
            cpu_s=time.process_time() - started,
        )
