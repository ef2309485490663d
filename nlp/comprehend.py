"""Amazon Comprehend Medical engine: three operations per note, chunked, rate limited, retried."""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from nlp.base import EngineConfigError, EngineError, PermanentEngineError, TransientEngineError
from nlp.chunking import (
    Chunk,
    merge_detect_entities,
    merge_icd10cm,
    merge_rxnorm,
    misplaced_spans,
    split_text,
)
from nlp.ratelimit import RateLimiter, Sleep
from nlp.schema import (
    DetectEntitiesV2Response,
    InferICD10CMResponse,
    InferRxNormResponse,
    NlpResult,
)

if TYPE_CHECKING:
    import boto3.session
    from mypy_boto3_comprehendmedical import ComprehendMedicalClient

log = logging.getLogger(__name__)

API_VERSION = "2018-10-30"
DETECT_ENTITIES = "DetectEntitiesV2"
INFER_ICD10CM = "InferICD10CM"
INFER_RXNORM = "InferRxNorm"
OPERATIONS = (DETECT_ENTITIES, INFER_ICD10CM, INFER_RXNORM)

#: ``Text`` limit per call, applied both in code points and in UTF-8 bytes (spec §5.1, D7).
DEFAULT_LIMITS: Mapping[str, int] = {
    DETECT_ENTITIES: 20_000,
    INFER_ICD10CM: 10_000,
    INFER_RXNORM: 10_000,
}
#: Billing: "units of 100 characters, with a 1 unit (100 character) minimum charge per request".
CHARACTERS_PER_UNIT = 100

#: Error codes worth retrying (throttling and server faults); 429 and 5xx statuses are too.
TRANSIENT_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ServiceUnavailableException",
        "InternalServerException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
#: Errors that retrying the same text cannot fix, with our code for each.
PERMANENT_CODES: Mapping[str, str] = {
    "InvalidRequestException": "NLP121",
    "InvalidEncodingException": "NLP122",
    "TextSizeLimitExceededException": "NLP123",
    "ValidationException": "NLP124",
}
#: Credential and permission errors: the engine is misconfigured, not the document.
AUTH_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "SubscriptionRequiredException",
    }
)


@dataclass(frozen=True)
class OperationUsage:
    """Calls, characters sent and billed units of one operation."""

    calls: int = 0
    characters: int = 0
    units: int = 0

    def __add__(self, other: OperationUsage) -> OperationUsage:
        return OperationUsage(
            self.calls + other.calls,
            self.characters + other.characters,
            self.units + other.units,
        )


@dataclass(frozen=True)
class Usage:
    """Usage per operation (successful calls only; failed attempts are not billed)."""

    by_operation: Mapping[str, OperationUsage] = field(default_factory=dict)

    def __add__(self, other: Usage) -> Usage:
        ops = {**self.by_operation}
        for op, usage in other.by_operation.items():
            ops[op] = ops.get(op, OperationUsage()) + usage
        return Usage(ops)

    @property
    def calls(self) -> int:
        return sum(u.calls for u in self.by_operation.values())

    @property
    def characters(self) -> int:
        return sum(u.characters for u in self.by_operation.values())

    @property
    def units(self) -> int:
        return sum(u.units for u in self.by_operation.values())

    def units_by_operation(self) -> dict[str, int]:
        """Billed units per operation (every operation present, 0 when unused)."""
        return {op: self.by_operation.get(op, OperationUsage()).units for op in OPERATIONS}


def call_units(characters: int) -> int:
    """Billed units of one call: 100 characters a unit, at least one unit.

    >>> [call_units(n) for n in (1, 100, 101, 10_000)]
    [1, 1, 2, 100]
    """
    return max(1, math.ceil(characters / CHARACTERS_PER_UNIT))


def plan_chunks(text: str, limit: int) -> list[Chunk]:
    """The chunks sent for one operation: ``split_text`` minus whitespace-only chunks."""
    return [c for c in split_text(text, max_chars=limit, max_bytes=limit) if c.text.strip()]


def estimate_usage(text: str, *, limits: Mapping[str, int] = DEFAULT_LIMITS) -> Usage:
    """What ``analyze(text)`` will call and bill, without calling anything (pure).

    >>> estimate_usage("x" * 25_000).units_by_operation()
    {'DetectEntitiesV2': 250, 'InferICD10CM': 250, 'InferRxNorm': 250}
    >>> estimate_usage("x" * 150).calls, estimate_usage("   ").units
    (3, 0)
    """
    ops = {}
    for op in OPERATIONS:
        chunks = plan_chunks(text, limits[op])
        ops[op] = OperationUsage(
            calls=len(chunks),
            characters=sum(len(c.text) for c in chunks),
            units=sum(call_units(len(c.text)) for c in chunks),
        )
    return Usage(ops)


def estimate_units(text: str, *, limits: Mapping[str, int] = DEFAULT_LIMITS) -> dict[str, int]:
    """Billed units per operation for ``text`` (for cost estimates before spending)."""
    return estimate_usage(text, limits=limits).units_by_operation()


def make_comprehend_client(
    region: str | None = None,
    *,
    session: boto3.session.Session | None = None,
    endpoint_url: str | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
    max_pool_connections: int = 10,
) -> ComprehendMedicalClient:
    """A boto3 ``comprehendmedical`` client with botocore's retries switched off.

    Retries happen in exactly one layer (D9, STYLE 7.5): ``ComprehendMedicalEngine``'s own loop.
    botocore's ``total_max_attempts`` counts the first request, so 1 means no retry.

    Args:
        region: AWS region (``None``: the session's default).
        session: A ``boto3.Session`` (default: a new one from the environment).
        endpoint_url: Override the endpoint (VPC endpoint, local fake).
        connect_timeout: Seconds to connect.
        read_timeout: Seconds to wait for a response.
        max_pool_connections: HTTP connections kept, one per concurrently calling thread.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool_connections,
    )
    from botocore.exceptions import NoRegionError

    session = session or boto3.Session()
    try:
        client = session.client(
            "comprehendmedical", region_name=region, endpoint_url=endpoint_url, config=config
        )
    except NoRegionError as exc:
        raise EngineConfigError(
            "no AWS region for Comprehend Medical: set DOCREF_NLP_AWS_REGION or AWS_REGION",
            code="NLP132",
        ) from exc
    return cast("ComprehendMedicalClient", client)


def _error_from(exc: Exception, operation: str) -> EngineError:
    """Classify a botocore failure. Messages carry codes and statuses only, never text."""
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        NoRegionError,
        ParamValidationError,
        PartialCredentialsError,
    )

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        what = f"{operation}: {code or 'error'} (HTTP {status})"
        if code in PERMANENT_CODES:
            return PermanentEngineError(what, code=PERMANENT_CODES[code])
        if code in AUTH_CODES:
            return EngineConfigError(what, code="NLP131")
        if code in TRANSIENT_CODES or status == 429 or status >= 500:
            return TransientEngineError(what, code="NLP111")
        return PermanentEngineError(what, code="NLP129")
    name = type(exc).__name__
    if isinstance(exc, ConnectionError | HTTPClientError):
        return TransientEngineError(f"{operation}: {name}", code="NLP112")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | NoRegionError):
        return EngineConfigError(f"{operation}: {name}", code="NLP131")
    if isinstance(exc, ParamValidationError):
        return PermanentEngineError(f"{operation}: {name}", code="NLP124")
    return PermanentEngineError(f"{operation}: {name}", code="NLP129")


def _retry_after(exc: Exception) -> float:
    """Seconds the service asked us to wait (``Retry-After`` or ``x-amz-retry-after`` ms)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return 0.0
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    try:
        if "x-amz-retry-after" in headers:
            return float(headers["x-amz-retry-after"]) / 1000
        return float(headers.get("retry-after", 0))
    except ValueError:
        return 0.0


class ComprehendMedicalEngine:
    """The ``NlpEngine`` on Amazon Comprehend Medical (boto3).

    Per document: DetectEntitiesV2, InferICD10CM and InferRxNorm, each over chunks within its
    limit; the chunk responses are merged (offsets checked against each span's ``Text`` and
    converted from UTF-16 code units when the service counted those, rebased, ids renumbered)
    into one ``NlpResult`` without ``ResponseMetadata``. Each attempt first takes its share of the
    shared rate limiter. Throttling, 5xx and connection errors are retried here (exponential
    backoff with full jitter, honouring Retry-After) and nowhere else: build the client with
    ``make_comprehend_client``, which switches botocore's retries off.

    Config keys:
        client: A boto3 ``comprehendmedical`` client (required).
        rate_limiter: The process-wide ``RateLimiter`` (required; see
            ``nlp.ratelimit.shared_rate_limiter``).
        max_attempts: Attempts per call, the first included (default 8).
        limits: ``Text`` limit per operation in characters and bytes (default
            ``DEFAULT_LIMITS``: 20,000 / 10,000 / 10,000).
        base_delay: First backoff ceiling in seconds (default 0.5), doubled per attempt.
        max_delay: Backoff ceiling in seconds (default 20).
        sleep: Sleep function for backoff (default ``time.sleep``).
        rng: Random source for jitter (default a new ``random.Random()``).

    Usage: ``analyze_with_usage`` returns the usage of one document; ``last_usage`` holds the
    calling thread's last one; ``total_usage`` is cumulative over all threads and counts every
    successful (billed) call, also those of documents that failed later.
    """

    name = "comprehend-medical"
    version = f"comprehend-medical/{API_VERSION}"

    def __init__(
        self,
        client: ComprehendMedicalClient,
        *,
        rate_limiter: RateLimiter,
        max_attempts: int = 8,
        limits: Mapping[str, int] | None = None,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise EngineConfigError(f"max_attempts must be >= 1, got {max_attempts}", code="NLP132")
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.max_attempts = max_attempts
        self.client = client
        self.rate_limiter = rate_limiter
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._methods: dict[str, Callable[..., Any]] = {
            DETECT_ENTITIES: client.detect_entities_v2,
            INFER_ICD10CM: client.infer_icd10_cm,
            INFER_RXNORM: client.infer_rx_norm,
        }
        self._lock = threading.Lock()
        self._local = threading.local()
        self._total = Usage()

    @property
    def total_usage(self) -> Usage:
        """Usage of every ``analyze`` so far, all threads."""
        with self._lock:
            return self._total

    @property
    def last_usage(self) -> Usage:
        """Usage of the calling thread's last ``analyze`` (empty before the first)."""
        usage: Usage = getattr(self._local, "usage", Usage())
        return usage

    def estimate_usage(self, text: str) -> Usage:
        """What ``analyze(text)`` will call and bill, with this engine's limits."""
        return estimate_usage(text, limits=self.limits)

    def analyze(self, text: str) -> NlpResult:
        """Run the three operations on ``text``; see ``analyze_with_usage``."""
        return self.analyze_with_usage(text)[0]

    def analyze_with_usage(self, text: str) -> tuple[NlpResult, Usage]:
        """Run the three operations on ``text`` and return the merged result and its usage.

        Empty or whitespace-only text makes no call and gives empty responses.

        Raises:
            TransientEngineError: Throttling/5xx/network persisted for ``max_attempts``.
            PermanentEngineError: The service rejected the text (NLP121-NLP124, NLP129).
            EngineConfigError: Credentials, permissions or region are wrong (NLP131).
        """
        started = time.monotonic()
        usage: dict[str, OperationUsage] = {}
        de = merge_detect_entities(
            (c, DetectEntitiesV2Response.model_validate(r))
            for c, r in self._run(DETECT_ENTITIES, text, usage)
        )
        icd = merge_icd10cm(
            (c, InferICD10CMResponse.model_validate(r))
            for c, r in self._run(INFER_ICD10CM, text, usage)
        )
        rx = merge_rxnorm(
            (c, InferRxNormResponse.model_validate(r))
            for c, r in self._run(INFER_RXNORM, text, usage)
        )
        # Every merged span's Text must be the note at its offsets (the merge aligned each one
        # to its chunk: code points, else UTF-16 units, else the nearest occurrence).
        if any(misplaced_spans(text, part.entities) for part in (de, icd, rx)):
            raise PermanentEngineError("merged offsets do not match the note", code="NLP129")
        result = NlpResult(DetectEntitiesV2=de, InferICD10CM=icd, InferRxNorm=rx)
        document_usage = Usage(usage)
        self._local.usage = document_usage
        log.debug(
            "comprehend-medical: %d calls, %d characters, %d units, %d+%d+%d entities, %.3fs",
            document_usage.calls,
            document_usage.characters,
            document_usage.units,
            len(de.entities),
            len(icd.entities),
            len(rx.entities),
            time.monotonic() - started,
        )
        return result, document_usage

    def _run(
        self, operation: str, text: str, usage: dict[str, OperationUsage]
    ) -> list[tuple[Chunk, dict[str, Any]]]:
        """Call ``operation`` on every chunk; record the usage of the successful calls.

        Calls are added to ``total_usage`` one by one, so calls billed before a failure count.
        """
        results = []
        total = OperationUsage()
        for chunk in plan_chunks(text, self.limits[operation]):
            results.append((chunk, self._call(operation, chunk.text)))
            call = OperationUsage(1, len(chunk.text), call_units(len(chunk.text)))
            total = total + call
            with self._lock:
                self._total = self._total + Usage({operation: call})
        usage[operation] = total
        return results

    def _call(self, operation: str, text: str) -> dict[str, Any]:
        """One call with the retry loop; returns the response without ResponseMetadata."""
        from botocore.exceptions import BotoCoreError, ClientError

        method = self._methods[operation]
        attempt = 0
        while True:
            attempt += 1
            self.rate_limiter.acquire(len(text))
            try:
                response = method(Text=text)
            except (BotoCoreError, ClientError) as exc:
                error = _error_from(exc, operation)
                if not error.transient:
                    log.warning("comprehend-medical %s failed: %s", operation, error)
                    raise error from exc
                if attempt == self.max_attempts:
                    log.warning("comprehend-medical %s gave up: %s", operation, error)
                    raise TransientEngineError(
                        f"{operation}: gave up after {attempt} attempts, last {error}",
                        code=error.code,
                    ) from exc
                ceiling = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
                delay = min(self._max_delay, max(self._rng.uniform(0, ceiling), _retry_after(exc)))
                log.info(
                    "comprehend-medical %s attempt %d: %s; retry in %.2fs",
                    operation,
                    attempt,
                    error.code,
                    delay,
                )
                self._sleep(delay)
                continue
            data = dict(response)
            data.pop("ResponseMetadata", None)
            return data
