"""The per-document function of a batch run, the same in-process, in worker processes and on Ray.

``plan`` (in the reader) decides whether a document needs the engine; ``DocProcessor`` (in a
worker) loads the engine once and turns a :class:`WorkItem` into a :class:`DocResult`.
"""

from __future__ import annotations

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
    row_dicts,
)
from api.bootstrap import engine_from_spec
from api.service import BinaryFetch, Limits, prepare_document, with_status
from enrich.core import Enrichment, enrich_document
from enrich.extensions import VALIDATION_ERROR, read_project_info
from enrich.policy import EnrichmentPolicy
from enrich.rawresponse import aws_json
from nlp.base import EngineError
from nlp.schema import NlpResult

log = logging.getLogger(__name__)


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
    fetch_binary: BinaryFetch,
    profile: str | None = None,
) -> WorkItem | DocResult:
    """A :class:`WorkItem` when the document needs the engine, else the skip result.

    Order: text (``api.service.prepare_document``: a ``url`` attachment is read with
    ``fetch_binary``), checkpoint of an interrupted run, version filter, loop guard (same text
    hash and engine), unless ``force``.
    """
    doc_id = str(doc.get("id", ""))
    prepared = prepare_document(
        doc,
        fetch=fetch_binary,
        engine_name=identity.name,
        engine_version=identity.version,
        profile=profile,
    )
    if prepared.unresolved:
        return DocResult(
            doc_id, "", PERMANENT_ERROR, error="[NLP611] attachment url not resolvable"
        )
    text_hash = prepared.text_hash or ""
    if is_done(doc_id, text_hash):
        return DocResult(doc_id, text_hash, CHECKPOINTED)
    if selection.engine_version_below is not None:
        info = read_project_info(doc)
        recorded = info.engine_version if info is not None else None
        if not is_older(recorded, selection.engine_version_below):
            return DocResult(doc_id, text_hash, NOT_SELECTED)
    elif not selection.force and prepared.unchanged:
        return DocResult(doc_id, text_hash, UNCHANGED)
    return WorkItem(doc=doc, text=prepared.text, text_hash=text_hash)


class DocProcessor:
    """Loads the engine once; each call analyses one document and enriches it.

    Args:
        engine_spec: See :func:`api.bootstrap.engine_from_spec`.
        policy: ``EnrichmentPolicy`` fields (``{"profile": "clinical", "min_score": 0.5}``).
        now: ISO instant recorded in every enriched document of the run (one clock per run).
        for_store: Also return the NLP index rows and the full NLP result (the service store
            keeps them for search and ``$nlp``); other sinks do not need them.
        limits: ``api.service.Limits`` fields (``Settings.max_*``), as the service applies
            them: a longer note is not analysed, a larger output not generated; the document is
            written with status ``VALIDATION_ERROR`` and the message saying which.
    """

    def __init__(
        self,
        engine_spec: str,
        policy: dict[str, Any] | None = None,
        now: str | None = None,
        *,
        for_store: bool = False,
        limits: dict[str, int] | None = None,
    ) -> None:
        self.engine = engine_from_spec(engine_spec)
        self.limits = Limits(**(limits or {}))
        self.policy = EnrichmentPolicy.model_validate(policy or {})
        self.now = datetime.fromisoformat(now) if now else datetime.now().astimezone()
        self.for_store = for_store

    @property
    def identity(self) -> EngineIdentity:
        return EngineIdentity(self.engine.name, self.engine.version)

    def __call__(self, item: WorkItem) -> DocResult:
        doc_id = item.doc_id
        started = time.process_time()
        engine, text = self.engine, item.text

        def run(nlp: NlpResult | None) -> Enrichment:
            return enrich_document(
                item.doc, nlp, policy=self.policy, now=self.now, engine_name=engine.name,
                engine_version=engine.version, text=text,
            )  # fmt: skip

        try:
            refusal = self.limits.note_refusal(text)
            result = engine.analyze(text) if text is not None and refusal is None else None
            enrichment = run(result)
            if refusal is None:
                refusal = self.limits.output_refusal(enrichment)
            if refusal is not None:  # stored without NLP output, as the service does
                enrichment = with_status(run(None), VALIDATION_ERROR, refusal)
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
            index_rows=row_dicts(enrichment.index_rows) if self.for_store else [],
            chars=len(item.text or ""),
            nlp_result=aws_json(result) if self.for_store and result is not None else None,
            units=units_for(item.text) if item.text is not None else {},
            cpu_s=time.process_time() - started,
        )
