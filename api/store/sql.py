"""What the SQLite and PostgreSQL stores share: the history query, how a version is stamped and
compared, and the ``SqlStore`` / ``SqlNlpIndex`` base classes (construction, search, units of
work). The search SQL itself is ``api.store.search_sql``.

Resources that an enrichment generated (``source_doc`` set) keep no history rows of their own
unless the store is asked to (``generated_history``): their current version is in
``resources``, a deletion leaves a ``DELETE`` row (so a read answers 410 and a re-creation
continues the version numbers), and the history query shows the current version from
``resources`` when no history row holds it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import attrgetter
from typing import Any, ClassVar, Generic, TypeVar

from api.clock import Clock, utc_now
from api.search import NlpCriterion, SearchQuery, format_instant, normalize_text, parse_search
from api.store.base import (
    NlpIndex,
    NlpState,
    Resource,
    ResourceGone,
    SearchResult,
    SqlDatabase,
    StoreError,
    VersionInfo,
)
from api.store.bundles import searchset
from api.store.codec import dump_json as dump_json
from api.store.codec import parsed
from api.store.extract import extract
from api.store.search_sql import COMPUTED_PARAMS as COMPUTED_PARAMS
from api.store.search_sql import Lookups, SearchPlan, find_sql, search_plan
from api.store.terms import NlpRow, distinct_rows
from enrich.index import IndexRow

Key = tuple[str, str]

#: version_id, last_updated, method, body: history rows (a current version's body is the
#: ``resources`` row), and the current version of a resource that has no history row for it;
#: ``{extra}``: more columns of the body (SQLite: where a bundled body is, ``api.store.bodies``)
HISTORY_SELECT = """
SELECT v.* FROM (
    SELECT h.version_id AS version_id, h.last_updated AS last_updated, h.method AS method,
        COALESCE(h.json, r.json) AS body{extra}
    FROM history h LEFT JOIN {resources} r ON h.json IS NULL AND h.method != 'DELETE'
        AND r.type = h.type AND r.id = h.id AND r.version_id = h.version_id
    WHERE h.type = ? AND h.id = ?
    UNION ALL
    SELECT r.version_id, r.last_updated, CASE WHEN r.version_id = 1 THEN 'POST' ELSE 'PUT' END,
        r.json{extra}
    FROM {resources} r WHERE r.type = ? AND r.id = ? AND NOT EXISTS (SELECT 1 FROM history h
        WHERE h.type = r.type AND h.id = r.id AND h.version_id = r.version_id)
) v"""


def history_sql(
    resource_type: str,
    resource_id: str,
    version: int | None = None,
    *,
    bundled: bool = False,
    resources: tuple[str, list[Any]] = ("resources", []),
) -> tuple[str, list[Any]]:
    """The versions of a resource newest first (only ``version`` when given).

    ``bundled``: each row also names the bundle part of a body that ``resources`` holds in a
    bundle; ``resources``: the relation (and its arguments) that holds the resource's row.
    """
    relation, relation_args = resources
    select = HISTORY_SELECT.format(extra=", r.bid, r.part" if bundled else "", resources=relation)
    key = [resource_type, resource_id]
    args: list[Any] = [*relation_args, *key, *relation_args, *key]
    if version is None:
        return f"{select} ORDER BY v.version_id DESC", args
    return f"{select} WHERE v.version_id = ?", [*args, version]


#: ``(versionId, deleted)`` of a resource: its current row, else its last history row
LATEST_SQL = """
SELECT version_id, 0 FROM resources WHERE type = ? AND id = ?
UNION ALL
SELECT * FROM (SELECT version_id, CASE WHEN method = 'DELETE' THEN 1 ELSE 0 END FROM history
    WHERE type = ? AND id = ? ORDER BY version_id DESC LIMIT 1) last
"""


def latest_version(rows: Sequence[Sequence[Any]]) -> tuple[str, bool] | None:
    """``current_version`` from the rows of ``LATEST_SQL`` (the current row wins)."""
    if not rows:
        return None
    return str(rows[0][0]), bool(rows[0][1])


#: The ``IndexRow`` fields ``nlp_rows`` stores, in ``NlpRow`` order (normalised ones left out).
_INDEX_FIELDS = attrgetter(
    "operation",
    "text",
    "category",
    "type",
    "score",
    "concept_code",
    "concept_description",
    "concept_score",
)


def nlp_rows(rows: Sequence[IndexRow]) -> list[NlpRow]:
    """The stored form of index rows: the columns the search parameters read, normalised;
    each distinct row once, in the order of its first occurrence (``distinct_rows``).

    Every NLP criterion asks whether some row of a document matches (composites: inside one
    row), so a copy of a row answers nothing more; a note's index rows repeat (an entity
    mentioned twice, a concept linked from two entities of the same text and scores): 10 % of
    the rows of real ICU nursing notes, 40 % of a synthetic 2 KB note's 300. A NaN score is
    stored as ``None``: SQLite stores a NaN REAL as NULL, so a stored row, its terms
    (presence) and a copy of it (NaN is unequal to itself) agree, and PostgreSQL, which would
    store NaN as a number, answers as SQLite does.
    """
    return distinct_rows(map(_INDEX_FIELDS, rows), normalized) if rows else []


_NORMALIZED: dict[str, str] = {}


def normalized(value: str | None) -> str | None:
    """``normalize_text`` of an index value, memoised (empty and ``None`` stay as they are).

    Entity texts and concept descriptions repeat across rows and documents.

    >>> normalized("Ménière"), normalized(None), normalized("")
    ('meniere', None, '')
    """
    if not value:
        return value
    found = _NORMALIZED.get(value)
    if found is None:
        # ASCII has no decompositions nor combining marks, and its casefold is lower()
        found = value.lower() if value.isascii() else normalize_text(value)
        if len(_NORMALIZED) >= 65536:
            _NORMALIZED.clear()
        _NORMALIZED[value] = found
    return found


def resource_key(resource: Resource) -> Key:
    """``(resourceType, id)`` of a resource to write.

    Raises:
        StoreError: ``[NLP422]`` when either is missing.
    """
    resource_type, resource_id = resource.get("resourceType"), resource.get("id")
    if not isinstance(resource_type, str) or not isinstance(resource_id, str):
        raise StoreError("resource without resourceType or id", code="NLP422")
    return resource_type, resource_id


def ref_key(ref: str) -> Key:
    """``("Condition", "abc")`` from ``"Condition/abc"``."""
    resource_type, _, resource_id = ref.partition("/")
    return resource_type, resource_id


def content_of(resource: Resource) -> Resource:
    """The resource without the server-assigned meta fields (for no-op detection)."""
    body = dict(resource)
    meta = body.get("meta")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        if meta:
            body["meta"] = meta
        else:
            body.pop("meta")
    return body


def version_number(version_id: str) -> int | None:
    """A ``_history`` version id as stored (a 32-bit integer), ``None`` when it cannot be one.

    >>> version_number("3"), version_number("abc"), version_number("99999999999")
    (3, None, None)
    """
    try:
        number = int(version_id)
    except ValueError:
        return None
    return number if -(2**31) <= number < 2**31 else None


def stamped(resource: Resource, key: Key, version: int, now: str) -> Resource:
    """The resource as stored: ``resourceType``, ``id``, ``meta`` (versionId, lastUpdated) first.

    >>> stamped({"id": "x", "resourceType": "Binary"}, ("Binary", "x"), 2, "T")
    {'resourceType': 'Binary', 'id': 'x', 'meta': {'versionId': '2', 'lastUpdated': 'T'}}
    """
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = now
    stored: Resource = {"resourceType": key[0], "id": key[1], "meta": meta}
    stored.update((k, v) for k, v in resource.items() if k not in stored)
    return stored


def references(resources: Sequence[Resource], param: str, target_type: str | None) -> list[Key]:
    """``(type, id)`` that ``resources`` reference through ``param`` (``extract``: what their
    search values hold), in order."""
    found: list[Key] = []
    for resource in resources:
        found += [
            (ref_type, ref_id)
            for name, ref_type, ref_id in extract(resource).refs
            if name == param and target_type in (None, ref_type)
        ]
    return found


DbT = TypeVar("DbT", bound=SqlDatabase)


class SqlStore(ABC, Generic[DbT]):
    """The ``ServiceStore`` parts both SQL backends share: construction, search, units of work.

    Args:
        db: the service database handle (its schema is created or upgraded here).
        index: the NLP index in the same database (built when not given).
        clock: UTC ``now`` for ``meta.lastUpdated`` (default: the system clock).
        base_url: prefix of ``fullUrl`` and links in bundles from ``search()`` (default ``""``).
        generated_history: keep every version of generated resources (``source_doc`` set) in
            ``history``, as for other resources (default: only their current version and
            deletions, see the module docstring).
    """

    #: How this backend finds resources by value.
    lookups: ClassVar[Lookups]

    def __init__(
        self,
        db: DbT,
        *,
        index: NlpIndex | None = None,
        clock: Clock = utc_now,
        base_url: str = "",
        generated_history: bool = False,
    ) -> None:
        self.db = db
        self.clock = clock
        self.base_url = base_url
        self.generated_history = generated_history
        self.prepare_schema()
        self.index: NlpIndex = index if index is not None else self.new_index()

    @abstractmethod
    def prepare_schema(self) -> None:
        """Create the tables, or upgrade those of an older version (idempotent)."""

    @abstractmethod
    def new_index(self) -> NlpIndex:
        """The NLP index of this backend on ``self.db``."""

    @abstractmethod
    def run_search(self, plan: SearchPlan) -> SearchResult:
        """Run the statements of one page, with ``_include``/``_revinclude``, in one snapshot."""

    @abstractmethod
    def history_rows(
        self, resource_type: str, resource_id: str, version: int | None = None
    ) -> list[VersionInfo]:
        """Every version of a resource newest first, or only ``version``."""

    @abstractmethod
    def ref_targets(
        self, conn: Any, source_type: str, param: str, ids: list[str], target_type: str | None
    ) -> list[Key]:
        """``(type, id)`` that the resources ``source_type/ids`` reference through a computed
        ``param`` (``derived-from``, ``nlp-generated``)."""

    @abstractmethod
    def ref_sources(
        self, conn: Any, source_type: str, param: str, target_type: str, ids: list[str]
    ) -> list[Key]:
        """``(type, id)`` of the ``source_type`` resources whose ``param`` names ``ids``."""

    @abstractmethod
    def live_bodies(self, conn: Any, keys: list[Key]) -> list[Resource]:
        """The current bodies of ``keys``, in that order (absent or deleted ones left out)."""

    def included(self, conn: Any, query: SearchQuery, matches: list[Resource]) -> list[Resource]:
        """The resources ``_include`` and ``_revinclude`` add to a page (each once, in order);
        with ``query.include_limit``, the slice from ``include_offset``, plus one when more
        follow (``bundles.searchset`` pages on)."""
        if not matches or not (query.include or query.revinclude):
            return []
        ids = [str(r["id"]) for r in matches]
        wanted: list[Key] = []
        for inc in query.include:
            if inc.source_type != query.resource_type:
                continue
            if inc.param in COMPUTED_PARAMS:
                wanted += self.ref_targets(conn, inc.source_type, inc.param, ids, inc.target_type)
            else:  # the references of the page's own bodies, as extracted when written
                wanted += references(matches, inc.param, inc.target_type)
        for inc in query.revinclude:
            wanted += self.ref_sources(conn, inc.source_type, inc.param, query.resource_type, ids)
        seen = {(r["resourceType"], r["id"]) for r in matches}
        keys = [k for k in dict.fromkeys(wanted) if k not in seen]
        if query.include_limit is not None:  # paged: one more than the page tells "more"
            start = query.include_offset
            keys = keys[start : start + query.include_limit + 1]
        return self.live_bodies(conn, keys)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A unit of work: the store calls inside commit or roll back together (nested:
        savepoint); one writer at a time, like SQLite's ``BEGIN IMMEDIATE``."""
        with self.db.transaction():
            yield

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource | None:
        """One version; ``None`` if it does not exist.

        Raises:
            ResourceGone: that version is a deletion.
        """
        number = version_number(version_id)
        found = [] if number is None else self.history_rows(resource_type, resource_id, number)
        if not found:
            return None
        if found[0].resource is None:
            raise ResourceGone(f"{resource_type}/{resource_id} version {version_id} is a deletion")
        return found[0].resource

    def history(self, resource_type: str, resource_id: str) -> list[VersionInfo]:
        """All versions, newest first."""
        return self.history_rows(resource_type, resource_id)

    def execute(self, query: SearchQuery, *, default_count: int = 50) -> SearchResult:
        """Run a parsed query: one page of matches, the total and the included resources."""
        return self.run_search(search_plan(query, default_count, self.lookups))

    def search(self, resource_type: str, params: Sequence[tuple[str, str]]) -> Resource:
        """A ``searchset`` Bundle (links relative to ``base_url``)."""
        query = parse_search(resource_type, params)
        result = self.execute(query)
        for resource in (*result.matches, *result.included):
            parsed(resource)  # a Bundle for any caller: plain dicts (``api.store.codec``)
        return searchset(query, result, self.base_url, default_count=50)

    def ids(self, query: SearchQuery) -> list[str]:
        """Every matching id (no paging), for conditional interactions."""
        result = self.execute(
            SearchQuery(query.resource_type, query.standard, query.nlp, count=10_000)
        )
        return [str(r["id"]) for r in result.matches]


class SqlNlpIndex(ABC, Generic[DbT]):
    """The ``NlpIndex`` parts both SQL backends share (``nlp_rows``, ``nlp_documents``).

    Args:
        db: the service database handle (the index lives next to the store's tables; its
            schema is created or upgraded here).
        clock: UTC ``now`` for the state's ``updated`` (default: the system clock).
    """

    #: How this backend finds documents by NLP criteria.
    lookups: ClassVar[Lookups]

    def __init__(self, db: DbT, *, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock
        self.prepare_schema()

    @abstractmethod
    def prepare_schema(self) -> None:
        """Create the tables, or upgrade those of an older version (idempotent)."""

    def find_query(self, criteria: Sequence[NlpCriterion]) -> tuple[str, list[Any]]:
        """``find``'s statement (SQLite dialect)."""
        return find_sql(criteria, self.lookups)

    @abstractmethod
    def replace_at(
        self, document_id: str, rows: Sequence[IndexRow], state: NlpState | None, now: str
    ) -> None:
        """Replace the rows (and state) of one document in one transaction, stamped ``now``."""

    def replace(
        self, document_id: str, rows: Sequence[IndexRow], *, state: NlpState | None = None
    ) -> None:
        """Replace the rows (and the state, when given) of one document."""
        self.replace_at(document_id, rows, state, format_instant(self.clock()))
