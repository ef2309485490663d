"""The viewer's document search: a friendly form turned into FHIR search parameters.

The form is posted (never a GET): its text fields are note text (PHI) and must not reach URLs,
browser history or access logs. It is translated into the FHIR API's own search parameters and
run by the same code (``api.search.parse_search`` + the store's ``execute``), so the page shows
the equivalent FHIR query a data engineer can re-run. "Negated only" has no FHIR parameter (the
NLP index holds no traits): it filters the matches with the stored NLP results, over at most
``NEGATED_SCAN_LIMIT`` matching documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from api.search import SearchQuery, normalize_text, parse_search
from api.store.base import NlpState
from enrich.core import generated_by
from enrich.extensions import read_project_info, read_status
from nlp.schema import Entity, ICD10CMEntity, NlpResult, RxNormEntity

PAGE_SIZE = 20
NEGATED_SCAN_LIMIT = 5000
NLP_STATUSES = ("SUCCESS", "VALIDATION_ERROR", "UNSUPPORTED_CONTENT")
_ICD10CM_CODE = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
_RXNORM_CODE = re.compile(r"^[0-9]{1,9}$")
_DATE = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")


class Matches(Protocol):
    total: int
    matches: list[dict[str, Any]]


class SearchStore(Protocol):
    """What the viewer's search needs of the store (SQLite and PostgreSQL stores have it)."""

    def execute(self, query: SearchQuery, *, default_count: int = 50) -> Matches: ...


class StateIndex(Protocol):
    def state(self, document_id: str) -> NlpState | None: ...


def escape(value: str) -> str:
    r"""A FHIR search value with ``\ , | $`` escaped, so typed text never splits.

    >>> escape("a,b|c")
    'a\\,b\\|c'
    """
    return re.sub(r"([\\,|$])", r"\\\1", value)


def icd10cm_code(value: str) -> str | None:
    """``value`` as an ICD-10-CM code (upper case), or ``None`` when it is text.

    >>> icd10cm_code("h66.90"), icd10cm_code("otitis")
    ('H66.90', None)
    """
    code = value.strip().upper()
    return code if _ICD10CM_CODE.match(code) else None


def _date(value: str) -> str:
    return value if _DATE.match(value) else ""


@dataclass(frozen=True)
class SearchForm:
    """The fields of the document search form (all optional)."""

    patient: str = ""
    date_from: str = ""
    date_to: str = ""
    nlp_status: str = ""
    condition: str = ""
    medication: str = ""
    mentions: str = ""
    negated_only: bool = False
    offset: int = 0

    @classmethod
    def from_items(cls, items: Iterable[tuple[str, str]]) -> SearchForm:
        """From posted form items; unknown fields are ignored, bad values dropped."""
        values = {k: v.strip() for k, v in items}
        offset = values.get("offset", "0")
        status = values.get("nlp_status", "")
        return cls(
            patient=values.get("patient", "")[:200],
            date_from=_date(values.get("date_from", "")),
            date_to=_date(values.get("date_to", "")),
            nlp_status=status if status in NLP_STATUSES else "",
            condition=values.get("condition", "")[:200],
            medication=values.get("medication", "")[:200],
            mentions=values.get("mentions", "")[:200],
            negated_only=values.get("negated_only") in ("1", "on", "true"),
            offset=int(offset) if offset.isdigit() and len(offset) < 9 else 0,
        )

    @property
    def empty(self) -> bool:
        return self == SearchForm(offset=self.offset)

    def fhir_params(self) -> list[tuple[str, str]]:
        """The FHIR search parameters of this form (without paging).

        >>> SearchForm(condition="I10", medication="aspirin").fhir_params()
        [('infer-icd10cm-entity-concept-code', 'I10'), \
('detectEntities-entity-text-category:contains', 'aspirin|MEDICATION')]
        """
        params: list[tuple[str, str]] = []
        if self.patient:
            params.append(("patient", escape(self.patient)))
        if self.date_from:
            params.append(("date", f"ge{self.date_from}"))
        if self.date_to:
            params.append(("date", f"le{self.date_to}"))
        if self.nlp_status:
            params.append(("cm-decoration-status", self.nlp_status))
        if self.condition:
            code = icd10cm_code(self.condition)
            if code:
                params.append(("infer-icd10cm-entity-concept-code", code))
            else:
                value = f"{escape(self.condition)}|MEDICAL_CONDITION"
                params.append(("detectEntities-entity-text-category:contains", value))
        if self.medication:
            if _RXNORM_CODE.match(self.medication):
                params.append(("infer-rxnorm-entity-concept-code", self.medication))
            else:
                value = f"{escape(self.medication)}|MEDICATION"
                params.append(("detectEntities-entity-text-category:contains", value))
        if self.mentions:
            params.append(("detectEntities-entity-text:contains", escape(self.mentions)))
        return params

    def fhir_query(self) -> str:
        """The equivalent FHIR search, as text (shown on the page, never put in a URL)."""
        parts = [f"{k}={v}" for k, v in self.fhir_params()]
        return "GET /DocumentReference?" + "&".join([*parts, "_sort=-_lastUpdated"])

    def negated_match(self, result: NlpResult) -> bool:
        """Whether ``result`` has a negated entity of what the form asks for (any, if nothing)."""
        wanted: list[tuple[str | None, str | None, str | None]] = []  # category, text, code
        for asked, category in (
            (self.condition, "MEDICAL_CONDITION"),
            (self.medication, "MEDICATION"),
        ):
            if not asked:
                continue
            code = icd10cm_code(asked) if category == "MEDICAL_CONDITION" else None
            if code is None and category == "MEDICATION" and _RXNORM_CODE.match(asked):
                code = asked
            wanted.append((category, None if code else normalize_text(asked), code))
        if self.mentions:
            wanted.append((None, normalize_text(self.mentions), None))
        entities: list[Entity | ICD10CMEntity | RxNormEntity] = [
            *result.entities,
            *result.icd10cm_entities,
            *result.rxnorm_entities,
        ]
        for entity in entities:
            if not any(t.name == "NEGATION" for t in entity.traits or ()):
                continue
            if not wanted:
                return True
            codes = {c.code for c in getattr(entity, "concepts", None) or ()}
            mention = normalize_text(entity.text or "")
            for want_category, needle, want_code in wanted:
                if want_code is not None and want_code in codes:
                    return True
                if (
                    needle is not None
                    and needle in mention
                    and want_category in (None, entity.category)
                ):
                    return True
        return False


@dataclass(frozen=True)
class DocumentRow:
    id: str
    date: str | None
    subject: str | None
    kind: str | None
    nlp_status: str | None
    engine: str | None
    generated: int


@dataclass(frozen=True)
class SearchPage:
    rows: list[DocumentRow]
    total: int
    offset: int
    count: int
    capped: bool = False

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.count) if self.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.count if self.offset + self.count < self.total else None


def _kind(doc: dict[str, Any]) -> str | None:
    concept = doc.get("type")
    if not isinstance(concept, dict):
        return None
    if isinstance(concept.get("text"), str):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
            return str(coding.get("display") or coding.get("code"))
    return None


def document_row(doc: dict[str, Any]) -> DocumentRow:
    """What the list shows of a document (no note text)."""
    info = read_project_info(doc)
    subject = doc.get("subject")
    engine = None
    if info is not None and info.engine_name:
        engine = f"{info.engine_name} {info.engine_version or ''}".strip()
    return DocumentRow(
        id=str(doc.get("id")),
        date=str(doc["date"]) if doc.get("date") else None,
        subject=str(subject.get("reference")) if isinstance(subject, dict) else None,
        kind=_kind(doc),
        nlp_status=read_status(doc),
        engine=engine,
        generated=len(generated_by(doc)),
    )


def run_search(
    store: SearchStore, index: StateIndex, form: SearchForm, *, page_size: int = PAGE_SIZE
) -> SearchPage:
    """One page of documents matching ``form``, newest first.

    Raises:
        api.search_values.SearchError: a value the FHIR search refuses (``[NLP402]``).
    """
    items: Sequence[tuple[str, str]] = [*form.fhir_params(), ("_sort", "-_lastUpdated")]
    query = parse_search("DocumentReference", items)
    if not form.negated_only:
        found = store.execute(replace(query, count=page_size, offset=form.offset))
        rows = [document_row(d) for d in found.matches]
        return SearchPage(rows, found.total, form.offset, page_size)
    scanned = store.execute(replace(query, count=NEGATED_SCAN_LIMIT, offset=0))
    kept = []
    for doc in scanned.matches:
        state = index.state(str(doc.get("id")))
        stored = state.result if state is not None else None
        if stored is not None and form.negated_match(NlpResult.model_validate(stored)):
            kept.append(doc)
    rows = [document_row(d) for d in kept[form.offset : form.offset + page_size]]
    return SearchPage(rows, len(kept), form.offset, page_size, scanned.total > NEGATED_SCAN_LIMIT)
