"""Hostile input as property tests (hypothesis): text extraction, the search parser and webhook
notification parsing either succeed or refuse with their coded error, whatever they are given.

``HYPOTHESIS_PROFILE=long`` (``make test-hostile``) runs many more examples than ``make test``.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.intake.notifications import NotificationError, parse_notification, parse_reference
from api.jsonbody import JsonBodyError, parse_json
from api.search import SearchError, SearchQuery, parse_search
from api.search_params import NLP_PARAMS, SEARCHABLE_TYPES, STANDARD_PARAMS
from enrich.text import decode_text, extract_text

settings.register_profile(
    "default", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
CONTENT_TYPES = st.sampled_from(
    [
        "text/plain", "text/plain; charset=utf-8", "text/plain; charset=utf-16",
        "text/plain; charset=bogus", "text/html", "text/rtf", "application/rtf", "text/xml",
        "application/pdf", "TEXT/PLAIN;charset=\"ISO-8859-1\"", "", "text/", ";;;",
    ]
)  # fmt: skip


@st.composite
def attachments(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["valid", "bytes", "garbage", "url", "json"]))
    attachment: dict[str, Any] = {"contentType": draw(CONTENT_TYPES | st.text(max_size=15))}
    if kind == "valid":
        text = draw(st.text(max_size=200))
        encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1", "cp1252"]))
        data = text.encode(encoding, "replace")
        attachment["data"] = base64.b64encode(data).decode()
    elif kind == "bytes":
        attachment["data"] = base64.b64encode(draw(st.binary(max_size=200))).decode()
    elif kind == "garbage":
        attachment["data"] = draw(st.text(max_size=40))
    elif kind == "url":
        attachment["url"] = draw(st.text(max_size=40) | st.just("Binary/b1"))
    else:
        attachment = draw(JSON)  # anything at all
    return attachment


@given(st.lists(st.one_of(st.builds(lambda a: {"attachment": a}, attachments()), JSON), max_size=4))
def test_extract_text_never_fails(contents: list[Any]) -> None:
    doc = {"resourceType": "DocumentReference", "id": "d", "content": contents}
    extracted = extract_text(doc)
    if extracted is not None:
        assert extracted.text is None or extracted.text.strip()
        assert 0 <= extracted.attachment_index < len(contents)
        assert extracted.text is not None or extracted.url is not None


@given(st.binary(max_size=300), CONTENT_TYPES)
def test_decode_text_never_fails(data: bytes, content_type: str) -> None:
    text, charset = decode_text(data, content_type)
    assert isinstance(text, str)
    assert charset
    assert not text.startswith("\ufeff")


@given(st.text(max_size=200), st.sampled_from(["utf-8-sig", "utf-16", "utf-32"]))
def test_text_with_a_bom_round_trips_whatever_is_declared(text: str, encoding: str) -> None:
    assume(not text.startswith("\x00"))  # FF FE 00 00: the UTF-32 mark (ambiguous by design)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:  # lone surrogates cannot be encoded: nothing to decode
        return
    for declared in ("text/plain", "text/plain; charset=utf-8", "text/plain; charset=latin-1"):
        assert decode_text(data, declared)[0] == text.removeprefix("\ufeff")


PARAM_NAMES = sorted(
    {"_id", "_lastUpdated", "_tag", "_count", "_offset", "_sort", "_include", "_revinclude",
     "_summary", "_includeOffset", "_format", *NLP_PARAMS}
    | {p for params in STANDARD_PARAMS.values() for p in params}
)  # fmt: skip
MODIFIERS = st.sampled_from(["", ":exact", ":contains", ":missing", ":not", ":Patient", ":x", ";"])
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["ge2021-01-01", "le2021-12-19T10:00:00Z", "2021", "J02.0", "http://s|c", "|c", "s|",
         "Patient/p1", "streptococcal|0.6", "a$0.8", "gt0.5", "ap1e3", "-_lastUpdated", "count",
         "DocumentReference:nlp-generated", "Condition:derived-from", "true", "9" * 40, "",
         "a\\,b", "x|y|z|w", "eq", "1e999", "NaN"]
    ),
)  # fmt: skip


@given(
    st.sampled_from(SEARCHABLE_TYPES),
    st.lists(
        st.tuples(st.sampled_from(PARAM_NAMES) | st.text(max_size=15), MODIFIERS, VALUES),
        max_size=6,
    ),
)
def test_the_search_parser_answers_a_query_or_a_coded_error(
    resource_type: str, items: list[tuple[str, str, str]]
) -> None:
    query_items = [(name + modifier, value) for name, modifier, value in items]
    try:
        query = parse_search(resource_type, query_items, max_count=1000, max_include=50)
    except SearchError as exc:
        refusal = str(exc)[:9]
    else:
        refusal = ""
    if refusal:
        assert refusal in ("[NLP402] ", "[NLP403] ", "[NLP404] ")
        return
    assert isinstance(query, SearchQuery)
    assert query.count is None or 0 <= query.count <= 1000
    assert query.offset >= 0
    assert query.include_offset >= 0


@given(JSON)
def test_notification_parsing_of_any_json(body: Any) -> None:
    try:
        parsed = parse_notification(body)
    except NotificationError as exc:
        code = exc.code
    else:
        code = ""
    if code:
        assert code in ("NLP601", "NLP602", "NLP603")
        return
    for notice in parsed.notices:
        assert notice.resource_type == "DocumentReference"
        assert 1 <= len(notice.resource_id) <= 64


@st.composite
def notification_bundles(draw: st.DrawFn) -> dict[str, Any]:
    """Near-valid Backport notification Bundles: the shapes the parser looks into, filled with
    hostile values."""
    status_kind = draw(st.sampled_from(["Parameters", "SubscriptionStatus", "Other"]))
    event = draw(st.sampled_from(["event-notification", "heartbeat", "handshake", "", "x"]))
    status: dict[str, Any] = {"resourceType": status_kind}
    if status_kind == "Parameters":
        status["parameter"] = [
            {"name": "type", "valueCode": event},
            {"name": "notification-event", "part": [
                {"name": "focus", "valueReference": {"reference": draw(st.text(max_size=40))}}]},
        ]  # fmt: skip
    else:
        status["type"] = event
        status["notificationEvent"] = [{"focus": {"reference": draw(st.text(max_size=40))}}]
    entries: list[Any] = [{"resource": status}]
    for _ in range(draw(st.integers(0, 4))):
        choice = draw(st.sampled_from(["full", "id-only", "request", "junk"]))
        rid = draw(st.from_regex(r"[A-Za-z0-9\-.]{1,70}", fullmatch=True) | st.text(max_size=8))
        if choice == "full":
            entries.append({"resource": {"resourceType": "DocumentReference", "id": rid}})
        elif choice == "id-only":
            entries.append({"fullUrl": f"http://x/DocumentReference/{rid}/_history/2"})
        elif choice == "request":
            entries.append({"request": {"url": draw(st.text(max_size=40))}})
        else:
            entries.append(draw(JSON))
    kind = draw(st.sampled_from(["history", "subscription-notification", "searchset", None]))
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


@given(notification_bundles())
def test_notification_parsing_of_near_valid_bundles(bundle: dict[str, Any]) -> None:
    test_notification_parsing_of_any_json.hypothesis.inner_test(bundle)  # type: ignore[attr-defined]


@given(st.text(max_size=120))
def test_parse_reference_never_fails(url: str) -> None:
    ref = parse_reference(url)
    if ref is not None:
        assert 1 <= len(ref[1]) <= 64


@given(st.binary(max_size=400) | JSON.map(lambda v: json.dumps(v).encode()))
def test_parse_json_answers_a_value_or_a_coded_error(data: bytes) -> None:
    try:
        parse_json(data, max_depth=8)
    except JsonBodyError as exc:
        refusal = str(exc)
    else:
        refusal = "[NLP400] (parsed)"
    assert refusal.startswith("[NLP400] ")


@pytest.mark.parametrize("depth", [7, 8, 9])
def test_parse_json_depth_boundary(depth: int) -> None:
    body = "[" * depth + "]" * depth
    if depth <= 8:
        assert parse_json(body, max_depth=8) is not None
    else:
        with pytest.raises(JsonBodyError):
            parse_json(body, max_depth=8)
