"""POST /$analyze: text (plain or a Parameters resource) in, Comprehend-shaped NLP JSON out."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.deps import EngineDep, RawBodyDep, SettingsDep, require_token
from api.errors import FhirError, fhir_response
from api.jsonbody import parse_json
from enrich.rawresponse import aws_json

router = APIRouter(tags=["operations"], dependencies=[Depends(require_token)])


def text_of(content_type: str, raw: bytes, *, max_depth: int = 1_000) -> str:
    """The text to analyse from a ``text/plain`` body, a FHIR Parameters or ``{"text": ...}``.

    >>> text_of("text/plain", b"chest pain")
    'chest pain'
    >>> body = b'{"resourceType": "Parameters", "parameter": ['
    >>> body += b'{"name": "text", "valueString": "x"}]}'
    >>> text_of("application/fhir+json", body)
    'x'

    Raises:
        FhirError: ``[NLP400]`` unreadable body, ``[NLP415]`` media type, ``[NLP422]`` no text.
    """
    media = content_type.split(";")[0].strip().lower()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FhirError("NLP400", "the body is not UTF-8") from None
    if media in ("", "text/plain"):
        text = decoded
    elif media in ("application/fhir+json", "application/json"):
        text = _json_text(parse_json(decoded, max_depth=max_depth))
    else:
        raise FhirError("NLP415", "send text/plain or a Parameters resource")
    if not text.strip():
        raise FhirError("NLP422", "there is no text to analyze")
    return text


def _json_text(data: Any) -> str:
    if isinstance(data, dict) and data.get("resourceType") == "Parameters":
        for parameter in data.get("parameter") or []:
            if isinstance(parameter, dict) and parameter.get("name") == "text":
                value = parameter.get("valueString")
                if isinstance(value, str):
                    return value
        raise FhirError("NLP400", "Parameters needs a 'text' parameter with valueString")
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return str(data["text"])
    raise FhirError("NLP400", "send a Parameters resource with a 'text' parameter")


@router.post("/$analyze", summary="analyze text, return DetectEntitiesV2/InferICD10CM/InferRxNorm")
def analyze(
    request: Request, engine: EngineDep, settings: SettingsDep, raw: RawBodyDep
) -> Response:
    text = text_of(request.headers.get("content-type", ""), raw, max_depth=settings.max_json_depth)
    if len(text) > settings.max_note_chars:
        raise FhirError(
            "NLP413",
            f"the text has {len(text)} characters; the limit is {settings.max_note_chars} "
            "(DOCREF_NLP_MAX_NOTE_CHARS)",
        )
    started = time.perf_counter()
    result = engine.analyze(text)
    headers = {"X-Engine": f"{engine.name}/{engine.version}"}
    headers["Server-Timing"] = f"nlp;dur={(time.perf_counter() - started) * 1000:.1f}"
    return fhir_response(aws_json(result), 200, headers, media_type="application/json")
