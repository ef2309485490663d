"""HttpFhirStore: a remote FHIR R4 server as upstream and write-back target (httpx + tenacity)."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
import tenacity

from api.store.base import Resource, StoreError

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
TransactionMode = Literal["auto", "transaction", "batch", "individual"]
MAX_QUERY_CHARS = 1800  # beyond it a search goes as POST _search (URL limits of proxies)
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Statuses of a transaction POST that mean "this server does not do transactions".
_NO_TRANSACTION_STATUSES = frozenset({404, 405, 501})


class UpstreamError(StoreError):
    """A remote FHIR server refused (``NLP501``), stayed unavailable (``NLP502``) or answered
    nonsense (``NLP504``).

    Attributes:
        upstream_status: The upstream HTTP status, when there was one.
        issues: The OperationOutcome issues the server sent (may hold server text: never log).
        retryable: True when trying again later may succeed (429/5xx/connection errors).
    """

    code = "NLP504"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        issues: list[dict[str, Any]] | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, code=code)
        self.upstream_status = status
        self.issues = issues or []
        self.retryable = retryable

    @property
    def conflict(self) -> bool:
        """The write lost a version race (409/412, or an outcome saying so)."""
        if self.upstream_status in (409, 412):
            return True
        return any(
            i.get("code") == "conflict"
            or "precondition" in str((i.get("details") or {}).get("text", "")).lower()
            for i in self.issues
        )


class BearerAuth(httpx.Auth):
    """A static bearer token (``Authorization: Bearer <token>``)."""

    def __init__(self, token: str) -> None:
        """Args:
        token: The access token, sent as is.
        """
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Any:
        """Add the Authorization header."""
        request.headers["Authorization"] = self._header
        yield request


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of one HTTP call (D9): 429, 5xx and connection errors only.

    Attributes:
        attempts: Total attempts including the first (default 5).
        base_s: Base of the exponential backoff in seconds (default 0.5); the wait before
            attempt n is a random value in ``[0, min(max_wait_s, base_s * 2**(n-1))]``.
        max_wait_s: Cap of one backoff wait (default 30).
        max_retry_after_s: Cap applied to a server's ``Retry-After`` (default 120).
    """

    attempts: int = 5
    base_s: float = 0.5
    max_wait_s: float = 30.0
    max_retry_after_s: float = 120.0


class _RetryableError(Exception):
    """Internal: a response worth retrying (429/5xx), with its ``Retry-After`` if any."""

    def __init__(self, response: httpx.Response, retry_after: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    >>> parse_retry_after("3")
    3.0
    >>> now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=now)
    10.0
    >>> parse_retry_after("soon") is None
    True
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def outcome_issues(body: Any) -> list[dict[str, Any]]:
    """The ``issue`` list of an OperationOutcome body (empty for anything else)."""
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        issues = body.get("issue")
        if isinstance(issues, list):
            return [i for i in issues if isinstance(i, dict)]
    return []


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def rejected(response: httpx.Response, what: str) -> UpstreamError:
    """The coded error for a 4xx (or unretryable) response, with its OperationOutcome issues."""
    issues = outcome_issues(_json_or_none(response))
    detail = "; ".join(
        f"{i.get('severity', '?')}/{i.get('code', '?')}: {i.get('diagnostics', '')}".rstrip(": ")
        for i in issues
    )
    return UpstreamError(
        f"upstream rejected {what}: HTTP {response.status_code}"
        + (f" ({detail})" if detail else ""),
        code="NLP501",
        status=response.status_code,
        issues=issues,
    )


class HttpFhirStore:
    """A FHIR R4 server over HTTP: read, paged search, transaction (or batch, or ordered writes).

    Config (constructor arguments):
        base_url: The FHIR base, e.g. ``https://fhir.example.org/r4/`` (a trailing ``/`` is added).
        client: The ``httpx.Client`` used for every call (one per store; timeouts are its own).
        auth: ``BearerAuth``, ``SmartBackendAuth``, ``SigV4Auth`` or ``None`` (default ``None``).
        retry: ``RetryPolicy()`` by default (5 attempts, 0.5 s base, full jitter).
        transaction_mode: ``"auto"`` (default: learn from the CapabilityStatement, then from a
            404/405/501 or ``not-supported`` answer to a transaction), ``"transaction"``,
            ``"batch"`` or ``"individual"`` (ordered PUTs/DELETEs).
        max_pages: Maximum number of search pages followed (default 100).
        conditional_writes: Send ``ifMatch``/``If-Match`` with the ``meta.versionId`` of the
            resources written (default ``True``).
        sleep: Sleep function used between retries (default ``time.sleep``; tests pass a fake).
    """

    def __init__(
        self,
        base_url: str,
        client: httpx.Client,
        auth: httpx.Auth | None = None,
        *,
        retry: RetryPolicy | None = None,
        transaction_mode: TransactionMode = "auto",
        max_pages: int = 100,
        conditional_writes: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._client = client
        self._auth = auth
        self._retry = retry or RetryPolicy()
        self._mode: TransactionMode = transaction_mode
        self._max_pages = max_pages
        self._conditional = conditional_writes
        self._sleep = sleep
        self._base_origin = urlsplit(self.base_url)[:2]

    def close(self) -> None:
        """Close the HTTP client (the store belongs to whoever built it)."""
        self._client.close()

    # ---- low level -------------------------------------------------------------------
    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableError) and exc.retry_after is not None:
            return min(exc.retry_after, self._retry.max_retry_after_s)
        cap = min(self._retry.max_wait_s, self._retry.base_s * 2 ** (state.attempt_number - 1))
        return random.uniform(0, cap)

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Sequence[tuple[str, str]] = (),
        form: Sequence[tuple[str, str]] | None = None,
        if_match: str | None = None,
    ) -> httpx.Response:
        """One HTTP call with retries on 429/5xx/connection errors.

        Returns the final response whatever its status (callers decide what a 4xx means).

        Raises:
            UpstreamError: ``NLP502`` when the retries are exhausted.
        """
        full = url if url.startswith(("http://", "https://")) else urljoin(self.base_url, url)
        headers = {"Accept": FHIR_JSON}
        if if_match:
            headers["If-Match"] = if_match
        content: bytes | None = None
        if json is not None:
            import json as _json

            content = _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
            headers["Content-Type"] = FHIR_JSON
        elif form is not None:
            content = urlencode(list(form)).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"

        def once() -> httpx.Response:
            started = time.perf_counter()
            response = self._client.request(
                method, full, params=list(params) or None, content=content, headers=headers,
                auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
            )  # fmt: skip
            log.debug(
                "upstream %s %s -> %d in %.1f ms",
                method,
                urlsplit(full).path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            if response.status_code in _RETRY_STATUSES:
                response.read()
                raise _RetryableError(
                    response, parse_retry_after(response.headers.get("Retry-After"))
                )
            return response

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._retry.attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type((_RetryableError, httpx.TransportError)),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(once)
        except _RetryableError as exc:
            raise UpstreamError(
                f"upstream unavailable: {method} {urlsplit(full).path} gave HTTP "
                f"{exc.response.status_code} after {self._retry.attempts} attempts",
                code="NLP502",
                status=exc.response.status_code,
                issues=outcome_issues(_json_or_none(exc.response)),
                retryable=True,
            ) from exc
        except httpx.TransportError as exc:
            raise UpstreamError(
                f"upstream unreachable: {method} {urlsplit(full).path}: {type(exc).__name__} "
                f"after {self._retry.attempts} attempts",
                code="NLP502",
                retryable=True,
            ) from exc

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code >= 400:
            raise rejected(response, what)
        body = _json_or_none(response)
        if not isinstance(body, dict):
            raise UpstreamError(f"upstream answered {what} without a JSON object", code="NLP504")
        return body

    # ---- FhirStore -------------------------------------------------------------------
    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        """The current version of a resource, or ``None`` when it is absent or deleted."""
        response = self.request("GET", f"{resource_type}/{resource_id}")
        if response.status_code in (404, 410):
            return None
        return self._json(response, f"read {resource_type}")

    def search(self, resource_type: str, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """A searchset Bundle holding every page (``next`` links followed up to ``max_pages``).

        A query longer than ``MAX_QUERY_CHARS`` (long ``_id`` lists) is sent as
        ``POST [type]/_search`` with a form body instead of a GET.
        """
        if len(urlencode(list(params))) > MAX_QUERY_CHARS:
            response = self.request("POST", f"{resource_type}/_search", form=params)
        else:
            response = self.request("GET", resource_type, params=params)
        first = self._json(response, f"search {resource_type}")
        entries: list[dict[str, Any]] = list(first.get("entry") or [])
        page, pages = first, 1
        while (nxt := _link(page, "next")) is not None and pages < self._max_pages:
            if urlsplit(nxt)[:2] != self._base_origin and nxt.startswith(("http:", "https:")):
                raise UpstreamError(
                    "upstream search paging left the configured server", code="NLP504"
                )
            page = self._json(self.request("GET", nxt), f"search {resource_type} page")
            entries.extend(page.get("entry") or [])
            pages += 1
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
        bundle["total"] = first.get("total", len(entries))
        bundle["entry"] = entries
        return bundle

    def save_all(
        self, resources: Sequence[Resource], *, delete: Sequence[str] = ()
    ) -> list[Resource]:
        """Upsert ``resources`` by id and delete ``"Type/id"`` refs in one transaction if possible.

        A resource that carries ``meta.versionId`` (the version we read and enriched) is
        written with ``ifMatch``: when someone updated it upstream meanwhile, the server
        refuses (``UpstreamError.conflict``) instead of losing their change.

        Returns:
            The resources as stored, in the order given (the server's copy when it returned
            one, else the input with ``meta.versionId`` taken from the entry's ``etag``).
        """
        entries: list[dict[str, Any]] = []
        for r in resources:
            request = {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}
            version = (r.get("meta") or {}).get("versionId")
            if version and self._conditional:
                # optimistic lock: a version written upstream since we read it wins (412)
                request["ifMatch"] = f'W/"{version}"'
            entries.append({"resource": r, "request": request})
        entries += [{"request": {"method": "DELETE", "url": ref}} for ref in delete]
        result = self.transaction(
            {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        )
        return stored_resources(resources, result)

    def delete(self, resource_type: str, resource_id: str) -> None:
        """Delete a resource; absent is fine."""
        response = self.request("DELETE", f"{resource_type}/{resource_id}")
        if response.status_code >= 400 and response.status_code not in (404, 410):
            raise rejected(response, f"delete {resource_type}")

    def capabilities(self) -> set[str]:
        """System interactions of the server's CapabilityStatement (empty when unavailable)."""
        try:
            response = self.request("GET", "metadata")
        except UpstreamError:
            return set()
        body = _json_or_none(response) if response.status_code < 400 else None
        codes: set[str] = set()
        if isinstance(body, dict):
            for rest in body.get("rest") or []:
                for interaction in rest.get("interaction") or []:
                    if isinstance(interaction, dict) and isinstance(interaction.get("code"), str):
                        codes.add(interaction["code"])
        return codes

    @property
    def transaction_mode(self) -> TransactionMode:
        """The write mode in use (``auto`` until learnt)."""
        return self._mode

    def transaction(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """Apply a transaction Bundle (PUT/DELETE entries) with one call when the server can.

        Falls back to a batch, or to ordered single writes (other resources first, then
        DELETEs, then DocumentReferences, so that the document, which carries the loop-guard
        hash, is written last), when the server does not support transactions.

        Returns:
            The server's transaction-response Bundle, or one assembled from single writes.

        Raises:
            UpstreamError: ``NLP501`` (4xx, with the OperationOutcome issues) or ``NLP502``.
        """
        entries: list[dict[str, Any]] = list(bundle.get("entry") or [])
        if not entries:
            return {"resourceType": "Bundle", "type": "transaction-response", "entry": []}
        if self._mode == "auto":
            caps = self.capabilities()
            if "transaction" in caps:
                self._mode = "transaction"
            elif "batch" in caps:
                self._mode = "batch"
        if self._mode in ("auto", "transaction"):
            response = self.request("POST", "", json={**bundle, "type": "transaction"})
            if response.status_code < 400:
                self._mode = "transaction"
                return self._json(response, "transaction")
            if not _means_unsupported(response):
                raise rejected(response, "transaction")
            has_delete = any((e.get("request") or {}).get("method") == "DELETE" for e in entries)
            if response.status_code == 404 and has_delete:
                # Some servers (Medplum) fail a whole transaction on a DELETE of an absent
                # resource: apply this one as single writes, keep trying transactions later.
                log.info("upstream transaction got 404 with DELETEs; single writes this time")
                return self._single_writes(entries)
            log.info(
                "upstream has no transactions (HTTP %d); using single writes",
                response.status_code,
            )
            self._mode = "individual"
        if self._mode == "batch":
            result = self._json(self.request("POST", "", json={**bundle, "type": "batch"}), "batch")
            for sent, got in zip(entries, result.get("entry") or [], strict=False):
                status = str((got.get("response") or {}).get("status", ""))
                method = (sent.get("request") or {}).get("method")
                if not status.startswith("2") and not (
                    method == "DELETE" and status[:3] in ("404", "410")
                ):
                    issues = outcome_issues((got.get("response") or {}).get("outcome"))
                    raise UpstreamError(
                        f"upstream rejected batch entry {method}: {status}",
                        code="NLP501",
                        status=int(status[:3]) if status[:3].isdigit() else None,
                        issues=issues,
                    )
            return result
        return self._single_writes(entries)

    def _single_writes(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        def rank(entry: dict[str, Any]) -> int:
            method = (entry.get("request") or {}).get("method")
            if method == "DELETE":
                return 1
            resource = entry.get("resource") or {}
            return 2 if resource.get("resourceType") == "DocumentReference" else 0

        out: list[dict[str, Any]] = [{} for _ in entries]
        for index, entry in sorted(enumerate(entries), key=lambda ie: rank(ie[1])):
            request = entry.get("request") or {}
            method, url = str(request.get("method", "")).upper(), str(request.get("url", ""))
            if method == "DELETE":
                response = self.request("DELETE", url)
                if response.status_code >= 400 and response.status_code not in (404, 410):
                    raise rejected(response, "delete")
            elif method in ("PUT", "POST"):
                response = self.request(
                    method, url, json=entry.get("resource"), if_match=request.get("ifMatch")
                )
                if response.status_code >= 400:
                    raise rejected(response, method.lower())
            else:
                raise UpstreamError(f"unsupported bundle entry method {method!r}", code="NLP504")
            got: dict[str, Any] = {"status": str(response.status_code)}
            if response.headers.get("ETag"):
                got["etag"] = response.headers["ETag"]
            body = _json_or_none(response) if method != "DELETE" else None
            out[index] = {"response": got}
            if isinstance(body, dict) and body.get("resourceType") not in (
                None,
                "OperationOutcome",
            ):
                out[index]["resource"] = body
        return {"resourceType": "Bundle", "type": "transaction-response", "entry": out}


def stored_resources(sent: Sequence[Resource], result: dict[str, Any]) -> list[Resource]:
    """Match a transaction-response to the resources sent (same order, PUTs first)."""
    got = list(result.get("entry") or [])
    out: list[Resource] = []
    for i, resource in enumerate(sent):
        entry = got[i] if i < len(got) and isinstance(got[i], dict) else {}
        if isinstance(entry.get("resource"), dict):
            out.append(entry["resource"])
            continue
        etag = str((entry.get("response") or {}).get("etag") or "")
        version = etag.removeprefix("W/").strip('"')
        if version:
            out.append({**resource, "meta": {**(resource.get("meta") or {}), "versionId": version}})
        else:
            out.append(resource)
    return out


def _link(bundle: dict[str, Any], relation: str) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == relation and link.get("url"):
            return str(link["url"])
    return None


def _means_unsupported(response: httpx.Response) -> bool:
    if response.status_code in _NO_TRANSACTION_STATUSES:
        return True
    issues = outcome_issues(_json_or_none(response))
    return response.status_code < 500 and any(i.get("code") == "not-supported" for i in issues)
