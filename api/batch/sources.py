"""Where a batch run reads DocumentReferences: the service store, an upstream FHIR search, NDJSON.

Every source yields DocumentReference dicts and has a stable ``key`` (the checkpoint's source
identity) and an optional ``total`` for the progress bar.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from api.batch.storage import Storage
from api.service import BinaryContent, binary_content

log = logging.getLogger(__name__)

DOCUMENT_TYPE = "DocumentReference"
_NDJSON_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz", ".json", ".json.gz")


class SourceError(Exception):
    """A source cannot be read (``[NLP62x]`` codes)."""


class DocumentSource(Protocol):
    """An iterable of DocumentReference dicts with a stable identity."""

    key: str

    def __iter__(self) -> Iterator[dict[str, Any]]: ...

    def total(self) -> int | None: ...

    def fetch_binary(self, url: str) -> BinaryContent | None: ...


class SearchStore(Protocol):
    """The part of ``api.store.base.FhirStore`` a store source needs."""

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None: ...

    def search(self, resource_type: str, params: Sequence[tuple[str, str]]) -> dict[str, Any]: ...


# --- NDJSON (FHIR bulk $export, HealthLake StartFHIRExportJob) ---------------------------------


def document_files(names: Sequence[str]) -> list[str]:
    """The NDJSON files of a bulk export that can hold DocumentReferences.

    Files named after DocumentReference (``DocumentReference-0.ndjson``,
    ``1.DocumentReference.ndjson``, ``DocumentReference/part.ndjson``) when there are any,
    else every NDJSON file (lines of other types are skipped while reading).

    >>> document_files(["Patient-0.ndjson", "DocumentReference/DocumentReference-0.ndjson"])
    ['DocumentReference/DocumentReference-0.ndjson']
    >>> document_files(["export.ndjson", "README.txt"])
    ['export.ndjson']
    """
    data = [n for n in names if n.lower().endswith(_NDJSON_SUFFIXES) or "." not in n.split("/")[-1]]
    named = [n for n in data if DOCUMENT_TYPE in n]
    return named or data


class NdjsonSource:
    """DocumentReferences from NDJSON files in a local folder, a file, or an ``s3://`` prefix.

    Args:
        storage: Where the files are (:func:`api.batch.storage.open_storage`).
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.key = f"ndjson:{storage.url}"
        self.bad_lines = 0
        self._files: list[str] | None = None

    def files(self) -> list[str]:
        if self._files is None:
            self._files = document_files(self.storage.list())
        return self._files

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for name in self.files():
            for number, line in enumerate(self.storage.read_lines(name), start=1):
                if not line.strip():
                    continue
                doc = parse_line(line)
                if doc is None:
                    self.bad_lines += 1
                    log.warning("[NLP621] %s line %d is not a FHIR JSON object", name, number)
                    continue
                if doc.get("resourceType") == DOCUMENT_TYPE:
                    yield doc

    def total(self) -> int | None:
        """Number of lines in local files (cheap); ``None`` on S3 (unknown until read)."""
        if self.storage.url.startswith("s3://"):
            return None
        return sum(
            sum(1 for line in self.storage.read_lines(n) if line.strip()) for n in self.files()
        )

    def fetch_binary(self, url: str) -> BinaryContent | None:  # noqa: ARG002
        return None  # a bulk export's Binary resources are not indexed; documented limitation


def parse_line(line: bytes | str) -> dict[str, Any] | None:
    """One NDJSON line as a dict, ``None`` when it is not a JSON object."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# --- FHIR search (service store or upstream server) --------------------------------------------


def next_params(bundle: dict[str, Any]) -> list[tuple[str, str]] | None:
    """Query parameters of a searchset Bundle's ``next`` link, ``None`` on the last page.

    >>> next_params({"link": [{"relation": "next", "url": "http://x/DocumentReference?_count=2&_offset=2"}]})
    [('_count', '2'), ('_offset', '2')]
    >>> next_params({"link": [{"relation": "self", "url": "http://x/DocumentReference"}]}) is None
    True
    """
    for link in bundle.get("link", []) or []:
        if link.get("relation") == "next" and link.get("url"):
            return parse_qsl(urlsplit(str(link["url"])).query, keep_blank_values=True)
    return None


class PagingStore(Protocol):
    """``HttpFhirStore``'s raw call (retries included): used to follow ``next`` links as given."""

    def request(
        self, method: str, url: str, *, json: Any = None, params: Sequence[tuple[str, str]] = ()
    ) -> Any: ...


class SearchSource:
    """DocumentReferences matched by a FHIR search on a store, one page at a time.

    On an HTTP store (one with ``request``) the ``next`` links are followed as the server gives
    them (cursor or offset); on the service store, ``search`` is called with the query of each
    ``next`` link. Unless the query sorts, ``_sort=_id`` keeps offset paging stable while the run
    writes the same documents back (a write moves a document in ``_lastUpdated`` order).

    Args:
        store: A ``FhirStore`` (service SQLite store or upstream ``HttpFhirStore``).
        query: FHIR search string for DocumentReference, e.g. ``"subject=Patient/1&_count=100"``.
        name: Label of the store in the checkpoint key (``store`` / ``upstream:<base URL>``).
        page_size: ``_count`` used when the query gives none.
    """

    def __init__(self, store: SearchStore, query: str = "", *, name: str, page_size: int = 200):
        self.store = store
        self.params = list(parse_qsl(query.lstrip("?"), keep_blank_values=True))
        if not any(k == "_count" for k, _ in self.params):
            self.params.append(("_count", str(page_size)))
        if not any(k == "_sort" for k, _ in self.params):
            self.params.append(("_sort", "_id"))
        self.key = f"{name}?{query}" if query else name
        self._total: int | None = None

    def pages(self) -> Iterator[dict[str, Any]]:
        """The searchset Bundles, first to last."""
        if callable(getattr(self.store, "request", None)):
            yield from self._http_pages(self.store)  # type: ignore[arg-type]
            return
        params: list[tuple[str, str]] | None = list(self.params)
        while params is not None:
            bundle = self.store.search(DOCUMENT_TYPE, params)
            yield bundle
            params = next_params(bundle)

    def _http_pages(self, store: PagingStore) -> Iterator[dict[str, Any]]:
        response = store.request("GET", DOCUMENT_TYPE, params=self.params)
        while True:
            if response.status_code >= 400:
                raise SourceError(f"[NLP623] upstream search answered HTTP {response.status_code}")
            bundle = response.json()
            if not isinstance(bundle, dict):
                raise SourceError("[NLP623] upstream search answered without a Bundle")
            yield bundle
            nxt = next((link.get("url") for link in bundle.get("link") or []
                        if link.get("relation") == "next"), None)  # fmt: skip
            if not nxt:
                return
            response = store.request("GET", str(nxt))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for bundle in self.pages():
            if self._total is None and isinstance(bundle.get("total"), int):
                self._total = int(bundle["total"])
            for entry in bundle.get("entry", []) or []:
                resource = entry.get("resource") or {}
                mode = (entry.get("search") or {}).get("mode", "match")
                if mode == "match" and resource.get("resourceType") == DOCUMENT_TYPE:
                    yield resource

    def total(self) -> int | None:
        """The search's ``total`` (one ``_summary=count`` request), ``None`` when not given."""
        if self._total is None:
            try:
                params = [(k, v) for k, v in self.params if k != "_count"]
                bundle = self.store.search(DOCUMENT_TYPE, [*params, ("_summary", "count")])
                total = bundle.get("total")
                self._total = int(total) if isinstance(total, int) else None
            except Exception:  # a server without _summary=count: the bar shows no ETA
                log.info("[NLP622] the source gave no total; progress without ETA")
        return self._total

    def fetch_binary(self, url: str) -> BinaryContent | None:
        """The ``Binary/<id>`` an attachment URL names, read from the same store (as the
        service reads it: ``api.service.binary_content``)."""
        return binary_content(self.store, url)
