"""ComprehendMedicalEngine against a real boto3 client stubbed with botocore's Stubber."""

from __future__ import annotations

import copy
import itertools
import logging
import random
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from nlp.base import EngineConfigError, NlpEngine, PermanentEngineError, TransientEngineError
from nlp.chunking import Chunk, utf8_len
from nlp.comprehend import (
    DEFAULT_LIMITS,
    DETECT_ENTITIES,
    INFER_ICD10CM,
    INFER_RXNORM,
    OPERATIONS,
    ComprehendMedicalEngine,
    call_units,
    estimate_units,
    plan_chunks,
)
from nlp.ratelimit import RateLimiter
from nlp.schema import NlpResult
from tests.adapters.conftest import StubbedClient
from tests.fixtures.comprehend import load_input, load_response
from tests.unit.test_ratelimit import FakeClock

METHODS = {
    DETECT_ENTITIES: "detect_entities_v2",
    INFER_ICD10CM: "infer_icd10_cm",
    INFER_RXNORM: "infer_rx_norm",
}
NOTE = load_input("infer-icd10cm.abdominal-pain") or ""
WARFARIN = load_input("infer-rxnorm.warfarin") or ""
PHI = load_input("detect-phi.john-smith") or ""
VISITS = 32

ICD_TEMPLATE = load_response("infer-icd10cm.abdominal-pain")["Entities"][0]  # + "persistent"
RX_TEMPLATE = load_response("infer-rxnorm.warfarin")["Entities"][0]
DE_TEMPLATE = load_response("detect-phi.john-smith")["Entities"][0]  # a DetectEntitiesV2 Entity


def _long_note() -> str:
    """A note over 25,000 code points with multibyte text, so both limits matter."""
    paragraphs = []
    for i in range(VISITS):
        paragraphs.append(
            f"Visit {i}. {NOTE}\nMedications: {WARFARIN}. Temp 38.5 °C, pain 7/10 — naïve µg "
            f"dosing reviewed.\n{PHI}\n\n"
        )
    return "".join(paragraphs)


def _spans_for(chunk: str, term: str, template: dict[str, Any], attr_term: str | None) -> list:
    """Template entities at every occurrence of ``term`` in ``chunk`` (chunk-local offsets)."""
    found = []
    start = chunk.find(term)
    while start >= 0:
        entity = copy.deepcopy(template)
        entity.update(Text=term, BeginOffset=start, EndOffset=start + len(term))
        attributes = entity.get("Attributes") or []
        where = chunk.find(attr_term, start) if attr_term else -1
        if attributes and where >= 0:
            attributes[0].update(
                Text=attr_term, BeginOffset=where, EndOffset=where + len(attr_term)
            )
            entity["Attributes"] = attributes[:1]
        elif "Attributes" in entity:
            entity["Attributes"] = []
        found.append(entity)
        start = chunk.find(term, start + 1)
    return found


def _response_for(operation: str, chunk: str) -> dict[str, Any]:
    """A valid response whose offsets point at real substrings of ``chunk``; ids as in CM."""
    if operation == DETECT_ENTITIES:
        entities = _spans_for(chunk, "John Smith", DE_TEMPLATE, None)
        entities += _spans_for(chunk, "Seattle", {**DE_TEMPLATE, "Type": "ADDRESS"}, None)
    elif operation == INFER_ICD10CM:
        entities = _spans_for(chunk, "abdominal pain", ICD_TEMPLATE, "persistent")
    else:
        entities = _spans_for(chunk, "warfarin", RX_TEMPLATE, None)
    entities.sort(key=lambda e: e["BeginOffset"])
    next_id = 0
    for entity in entities:
        for span in [entity, *entity.get("Attributes", [])]:
            span["Id"] = next_id
            next_id += 1
    response: dict[str, Any] = {"Entities": entities, "ModelVersion": "2.5.0"}
    if operation == DETECT_ENTITIES:
        response["UnmappedAttributes"] = []
    return response


def _queue_responses(stub: StubbedClient, text: str) -> dict[str, list[Chunk]]:
    plans = {op: plan_chunks(text, DEFAULT_LIMITS[op]) for op in OPERATIONS}
    for op in OPERATIONS:
        for chunk in plans[op]:
            stub.stubber.add_response(
                METHODS[op], _response_for(op, chunk.text), {"Text": chunk.text}
            )
    return plans


def _engine(stub: StubbedClient, clock: FakeClock | None = None, **kwargs: Any) -> Any:
    """An engine whose backoff sleeps on ``clock``; the default limiter has its own clock."""
    clock = clock or FakeClock()
    if "rate_limiter" not in kwargs:
        own = FakeClock()
        kwargs["rate_limiter"] = RateLimiter(1e6, 1e9, clock=own, sleep=own.sleep)
    return ComprehendMedicalEngine(stub.client, sleep=clock.sleep, rng=random.Random(1), **kwargs)


def _all_spans(result: NlpResult) -> dict[str, list[Any]]:
    spans: dict[str, list[Any]] = {}
    for op, entities in (
        (DETECT_ENTITIES, result.entities),
        (INFER_ICD10CM, result.icd10cm_entities),
        (INFER_RXNORM, result.rxnorm_entities),
    ):
        spans[op] = [s for e in entities for s in [e, *(e.attributes or [])]]
    return spans


def test_long_note_is_chunked_within_limits_and_merged(stubbed: StubbedClient) -> None:
    text = _long_note()
    assert len(text) > 25_000
    assert utf8_len(text) > len(text)
    _queue_responses(stubbed, text)
    engine = _engine(stubbed)
    assert isinstance(engine, NlpEngine)
    result, usage = engine.analyze_with_usage(text)
    stubbed.stubber.assert_no_pending_responses()

    for op in OPERATIONS:
        texts = stubbed.texts(op)
        assert "".join(texts) == text  # no whitespace-only chunk here, so all text was sent
        assert all(len(t) <= DEFAULT_LIMITS[op] for t in texts)
        assert all(utf8_len(t) <= DEFAULT_LIMITS[op] for t in texts)
        assert len(texts) == (2 if op == DETECT_ENTITIES else 3)
        assert usage.by_operation[op].calls == len(texts)
        assert usage.by_operation[op].units == sum(call_units(len(t)) for t in texts)
    assert usage.units_by_operation() == estimate_units(text)
    assert engine.last_usage == usage
    assert engine.total_usage == usage

    spans = _all_spans(result)
    for op, op_spans in spans.items():
        expected = sum(len(_response_for(op, t)["Entities"]) for t in stubbed.texts(op))
        entity_count = {DETECT_ENTITIES: 2 * VISITS, INFER_ICD10CM: VISITS, INFER_RXNORM: VISITS}[
            op
        ]
        assert expected == entity_count  # no term straddles a cut in this note
        ids = [s.id for s in op_spans]
        assert ids == sorted(set(ids)), op  # unique and increasing in listing order
        for span in op_spans:
            assert text[span.begin_offset : span.end_offset] == span.text
    assert len(result.icd10cm_entities) == VISITS
    assert all(len(e.attributes or []) == 1 for e in result.icd10cm_entities)

    aws = result.to_aws()
    assert set(aws) == {DETECT_ENTITIES, INFER_ICD10CM, INFER_RXNORM}
    assert all("ResponseMetadata" not in r for r in aws.values())
    assert result.model_version == "2.5.0/2.5.0/2.5.0"


def test_response_metadata_is_dropped(stubbed: StubbedClient) -> None:
    response = {**_response_for(INFER_RXNORM, WARFARIN), "ResponseMetadata": {"RequestId": "r"}}
    stubbed.stubber.add_response("detect_entities_v2", _response_for(DETECT_ENTITIES, WARFARIN))
    stubbed.stubber.add_response("infer_icd10_cm", _response_for(INFER_ICD10CM, WARFARIN))
    stubbed.stubber.add_response("infer_rx_norm", response)
    result = _engine(stubbed).analyze(WARFARIN)
    assert result.to_aws()[INFER_RXNORM] == load_response("infer-rxnorm.warfarin") | {
        "ModelVersion": "2.5.0"
    }


def _queue_success(stub: StubbedClient, text: str, operations: tuple[str, ...]) -> None:
    for op in operations:
        stub.stubber.add_response(METHODS[op], _response_for(op, text))


def test_throttling_then_success_is_retried(stubbed: StubbedClient) -> None:
    stubbed.stubber.add_client_error(
        "detect_entities_v2", "TooManyRequestsException", http_status_code=429
    )
    stubbed.stubber.add_client_error("detect_entities_v2", "ThrottlingException")
    stubbed.stubber.add_client_error(
        "detect_entities_v2", "ServiceUnavailableException", http_status_code=503
    )
    stubbed.stubber.add_client_error(
        "detect_entities_v2",
        "InternalServerException",
        http_status_code=500,
        response_meta={"HTTPHeaders": {"retry-after": "3"}},
    )
    _queue_success(stubbed, WARFARIN, OPERATIONS)
    clock = FakeClock()
    engine = _engine(stubbed, clock)
    result, usage = engine.analyze_with_usage(WARFARIN)
    stubbed.stubber.assert_no_pending_responses()
    assert [op for op, _ in stubbed.calls] == [DETECT_ENTITIES] * 5 + [INFER_ICD10CM, INFER_RXNORM]
    assert len(clock.slept) == 4
    assert all(0 <= s <= 0.5 * 2**i for i, s in enumerate(clock.slept[:3]))
    assert clock.slept[3] == 3.0  # Retry-After honoured
    assert [e.text for e in result.rxnorm_entities] == ["warfarin"]
    assert usage.calls == 3  # failed attempts are not billed


def test_connection_error_is_retried(stubbed: StubbedClient) -> None:
    failures = iter([EndpointConnectionError(endpoint_url="https://comprehendmedical")])

    def fail_once(**kwargs: Any) -> None:
        error = next(failures, None)
        if error is not None:
            raise error

    stubbed.client.meta.events.register_first(
        "before-parameter-build.comprehendmedical.InferICD10CM", fail_once
    )
    _queue_success(stubbed, WARFARIN, OPERATIONS)
    clock = FakeClock()
    _engine(stubbed, clock).analyze(WARFARIN)
    assert [op for op, _ in stubbed.calls].count(INFER_ICD10CM) == 2
    assert len(clock.slept) == 1


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("InvalidRequestException", "NLP121"),
        ("InvalidEncodingException", "NLP122"),
        ("TextSizeLimitExceededException", "NLP123"),
    ],
)
def test_permanent_error_is_not_retried(stubbed: StubbedClient, error: str, code: str) -> None:
    stubbed.stubber.add_client_error("detect_entities_v2", error, service_message=WARFARIN)
    clock = FakeClock()
    engine = _engine(stubbed, clock)
    with pytest.raises(PermanentEngineError) as caught:
        engine.analyze(WARFARIN)
    assert caught.value.code == code
    assert not caught.value.transient
    assert len(stubbed.calls) == 1
    assert clock.slept == []
    assert "warfarin" not in str(caught.value)  # the service message is not echoed
    assert engine.total_usage.calls == 0


def test_retries_are_exhausted_into_a_transient_error(stubbed: StubbedClient) -> None:
    _queue_success(stubbed, WARFARIN, (DETECT_ENTITIES, INFER_ICD10CM))
    for _ in range(3):
        stubbed.stubber.add_client_error(
            "infer_rx_norm", "ServiceUnavailableException", http_status_code=503
        )
    clock = FakeClock()
    engine = _engine(stubbed, clock, max_attempts=3)
    with pytest.raises(TransientEngineError) as caught:
        engine.analyze(WARFARIN)
    assert caught.value.transient
    assert caught.value.code == "NLP111"
    assert "3 attempts" in str(caught.value)
    assert [op for op, _ in stubbed.calls].count(INFER_RXNORM) == 3
    assert len(clock.slept) == 2
    # The two calls that succeeded were billed and are counted.
    assert engine.total_usage.calls == 2


def test_auth_errors_are_config_errors(stubbed: StubbedClient) -> None:
    stubbed.stubber.add_client_error("detect_entities_v2", "UnrecognizedClientException")
    with pytest.raises(EngineConfigError) as caught:
        _engine(stubbed).analyze(WARFARIN)
    assert caught.value.code == "NLP131"
    assert len(stubbed.calls) == 1


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_empty_text_makes_no_call(stubbed: StubbedClient, text: str) -> None:
    engine = _engine(stubbed)
    result, usage = engine.analyze_with_usage(text)
    assert stubbed.calls == []
    assert usage.units == 0
    assert result.to_aws() == {
        DETECT_ENTITIES: {"Entities": []},
        INFER_ICD10CM: {"Entities": []},
        INFER_RXNORM: {"Entities": []},
    }


def test_whitespace_only_chunks_are_not_sent(stubbed: StubbedClient) -> None:
    text = WARFARIN + " " * 10_500 + WARFARIN
    plans = _queue_responses(stubbed, text)
    result = _engine(stubbed).analyze(text)
    assert all(t.strip() for _, t in stubbed.calls)
    assert len(plans[INFER_RXNORM]) == 2
    assert [e.begin_offset for e in result.rxnorm_entities] == [25, len(text) - 8]


def test_token_bucket_spaces_the_calls(stubbed: StubbedClient) -> None:
    clock = FakeClock(0.0)
    times: list[float] = []
    stubbed.client.meta.events.register(
        "provide-client-params.comprehendmedical.*", lambda **kw: times.append(clock.now)
    )
    text = (NOTE + " ") * 4  # 2,552 characters: one call per operation
    limiter = RateLimiter(2, 1_000, clock=clock, sleep=clock.sleep)
    engine = _engine(stubbed, clock, rate_limiter=limiter)
    for _ in range(2):
        _queue_success(stubbed, text, OPERATIONS)
        engine.analyze(text)
    sizes = [len(t) for _, t in stubbed.calls]
    assert len(times) == 6
    for previous, (before, after) in zip(sizes, itertools.pairwise(times), strict=False):
        assert after - before == pytest.approx(max(1 / 2, previous / 1_000))
    assert clock.now == pytest.approx(sum(sizes[:-1]) / 1_000)


def test_limits_are_configurable(stubbed: StubbedClient) -> None:
    limits = {DETECT_ENTITIES: 400, INFER_ICD10CM: 300, INFER_RXNORM: 300}
    engine = _engine(stubbed, limits=limits)
    text = NOTE + "\n" + WARFARIN
    for op in OPERATIONS:
        for chunk in plan_chunks(text, limits[op]):
            stubbed.stubber.add_response(METHODS[op], _response_for(op, chunk.text))
    result = engine.analyze(text)
    assert max(len(t) for _, t in stubbed.calls) <= 400
    assert engine.last_usage.calls == len(stubbed.calls) == 2 + 3 + 3
    assert engine.estimate_usage(text) == engine.last_usage
    for op_spans in _all_spans(result).values():
        assert all(text[s.begin_offset : s.end_offset] == s.text for s in op_spans)


def test_no_text_reaches_the_logs(stubbed: StubbedClient, caplog: pytest.LogCaptureFixture) -> None:
    stubbed.stubber.add_client_error("detect_entities_v2", "ThrottlingException")
    _queue_success(stubbed, PHI, OPERATIONS)
    stubbed.stubber.add_client_error("detect_entities_v2", "InvalidRequestException")
    engine = _engine(stubbed)
    with caplog.at_level(logging.DEBUG):
        engine.analyze(PHI)
        with pytest.raises(PermanentEngineError):
            engine.analyze(PHI)
    assert caplog.records  # something was logged...
    for word in ("John", "Smith", "Seattle", "teacher"):
        assert word not in caplog.text  # ...but no text


def test_client_has_botocore_retries_switched_off(stubbed: StubbedClient) -> None:
    assert stubbed.client.meta.config.retries == {"total_max_attempts": 1, "mode": "standard"}
    assert stubbed.client.meta.region_name == "us-east-1"
    engine = _engine(stubbed)
    assert engine.name == "comprehend-medical"
    assert engine.version == "comprehend-medical/2018-10-30"


def test_doctests() -> None:
    import doctest

    import nlp.comprehend

    assert doctest.testmod(nlp.comprehend).failed == 0


# --- offsets outside the Basic Multilingual Plane, each merged span checked against its Text

#: Characters outside the BMP before and inside the note: one code point, two UTF-16 units.
ASTRAL = "\U0001f600 \U0001d49c "  # an emoji and a mathematical script capital A


def _utf16(text: str, index: int) -> int:
    """Code point ``index`` of ``text`` as a UTF-16 code unit offset (what Java counts)."""
    return len(text[:index].encode("utf-16-le")) // 2


def _astral_note(repeat: int = 1) -> str:
    return "".join(f"{ASTRAL}Visit {i}: {NOTE} {ASTRAL}warfarin daily.\n\n" for i in range(repeat))


def _shift_to_utf16(response: dict[str, Any], chunk: str) -> dict[str, Any]:
    """The response as a service counting UTF-16 units would send it."""
    shifted = copy.deepcopy(response)
    for entity in shifted["Entities"]:
        for span in [entity, *entity.get("Attributes", [])]:
            span["BeginOffset"] = _utf16(chunk, span["BeginOffset"])
            span["EndOffset"] = _utf16(chunk, span["EndOffset"])
    return shifted


@pytest.mark.parametrize("units", ["code points", "UTF-16 code units"])
def test_offsets_outside_the_bmp_index_the_note_in_code_points(
    stubbed: StubbedClient, units: str
) -> None:
    """botocore's model says offsets are code points ("The offset returns the UTF-8 code point
    in the string"); a service counting UTF-16 units would shift them by one per astral
    character before the span. Either way every merged span's Text is the note at its offsets."""
    text = _astral_note()
    for op in OPERATIONS:
        for chunk in plan_chunks(text, DEFAULT_LIMITS[op]):
            response = _response_for(op, chunk.text)
            if units == "UTF-16 code units":
                response = _shift_to_utf16(response, chunk.text)
                if response["Entities"]:
                    assert response != _response_for(op, chunk.text)  # the shift is real
            stubbed.stubber.add_response(METHODS[op], response, {"Text": chunk.text})
    result = _engine(stubbed).analyze(text)
    spans = _all_spans(result)
    assert len(spans[INFER_RXNORM]) == 1
    assert len(spans[INFER_ICD10CM]) == 2  # the entity and its attribute
    for op_spans in spans.values():
        for span in op_spans:
            assert text[span.begin_offset : span.end_offset] == span.text


def test_astral_characters_across_chunks_keep_offsets_exact(stubbed: StubbedClient) -> None:
    text = _astral_note(repeat=120)
    assert len(text) > 2 * DEFAULT_LIMITS[INFER_ICD10CM]
    for op in OPERATIONS:
        for chunk in plan_chunks(text, DEFAULT_LIMITS[op]):
            response = _shift_to_utf16(_response_for(op, chunk.text), chunk.text)
            stubbed.stubber.add_response(METHODS[op], response, {"Text": chunk.text})
    result = _engine(stubbed).analyze(text)
    spans = _all_spans(result)
    assert len(spans[INFER_RXNORM]) == 120
    for op_spans in spans.values():
        assert all(text[s.begin_offset : s.end_offset] == s.text for s in op_spans)
        ids = [s.id for s in op_spans]
        assert ids == sorted(set(ids))


def test_a_span_whose_text_is_not_in_the_note_is_dropped(
    stubbed: StubbedClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = _response_for(INFER_RXNORM, WARFARIN)
    ghost = copy.deepcopy(response["Entities"][0])
    ghost.update(Id=99, Text="heparin", BeginOffset=0, EndOffset=7)
    response["Entities"].append(ghost)
    stubbed.stubber.add_response("detect_entities_v2", _response_for(DETECT_ENTITIES, WARFARIN))
    stubbed.stubber.add_response("infer_icd10_cm", _response_for(INFER_ICD10CM, WARFARIN))
    stubbed.stubber.add_response("infer_rx_norm", response)
    with caplog.at_level(logging.WARNING, logger="nlp.chunking"):
        result = _engine(stubbed).analyze(WARFARIN)
    assert [e.text for e in result.rxnorm_entities] == ["warfarin"]
    assert "1 entities or attributes dropped" in caplog.text
    assert "heparin" not in caplog.text  # counts only


def test_misplaced_offsets_are_found_at_the_nearest_occurrence(stubbed: StubbedClient) -> None:
    text = "warfarin 5 mg; stop warfarin if bleeding"
    response = _response_for(INFER_RXNORM, text)
    response["Entities"] = response["Entities"][1:]  # the second warfarin only ...
    response["Entities"][0].update(BeginOffset=18, EndOffset=26)  # ... off by two
    stubbed.stubber.add_response("detect_entities_v2", _response_for(DETECT_ENTITIES, text))
    stubbed.stubber.add_response("infer_icd10_cm", _response_for(INFER_ICD10CM, text))
    stubbed.stubber.add_response("infer_rx_norm", response)
    (entity,) = _engine(stubbed).analyze(text).rxnorm_entities
    assert (entity.begin_offset, entity.end_offset) == (20, 28)


def test_throttling_storm_is_ridden_out_without_loss_or_duplicates(
    stubbed: StubbedClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A storm: every call throttled several times in a row (429, ThrottlingException, 503)
    before it succeeds. The result equals the calm one, each chunk is billed once, and the
    backoff honours Retry-After."""
    text = _long_note()
    plans = {op: plan_chunks(text, DEFAULT_LIMITS[op]) for op in OPERATIONS}
    storms = itertools.cycle(
        [
            ("TooManyRequestsException", 429),
            ("ThrottlingException", 400),
            ("ServiceUnavailableException", 503),
        ]
    )
    throttled = 0
    for op in OPERATIONS:
        for chunk in plans[op]:
            for _ in range(3):
                code, status = next(storms)
                stubbed.stubber.add_client_error(
                    METHODS[op], code, http_status_code=status,
                    response_meta={"HTTPHeaders": {"retry-after": "2"}},
                )  # fmt: skip
                throttled += 1
            stubbed.stubber.add_response(
                METHODS[op], _response_for(op, chunk.text), {"Text": chunk.text}
            )
    clock = FakeClock()
    engine = _engine(stubbed, clock=clock)
    result, usage = engine.analyze_with_usage(text)
    stubbed.stubber.assert_no_pending_responses()
    assert usage.units_by_operation() == estimate_units(text)  # each chunk billed once
    assert len(result.icd10cm_entities) == VISITS  # nothing lost, nothing doubled
    assert len(result.rxnorm_entities) == VISITS
    assert len(clock.slept) == throttled
    assert all(s >= 2.0 for s in clock.slept)  # every wait honoured Retry-After: 2
    assert NOTE not in caplog.text
