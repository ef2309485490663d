"""Text extraction: attachment choice, charsets, HTML reduction, url markers, hashing."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from enrich.text import content_hash, decode_text, extract_text, html_to_text, parse_content_type
from tests.conftest import load_sample


def _doc(*attachments: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": "d1",
        "content": [{"attachment": a} for a in attachments],
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_first_text_attachment_wins_over_pdf_and_later_text() -> None:
    doc = _doc(
        {"contentType": "application/pdf", "data": _b64(b"%PDF-1.4")},
        {"contentType": "text/plain", "data": _b64(b"first note")},
        {"contentType": "text/plain", "data": _b64(b"second note")},
    )
    got = extract_text(doc)
    assert got is not None
    assert got.text == "first note"
    assert got.attachment_index == 1
    assert not got.needs_fetch


def test_charset_from_content_type_latin1_sample() -> None:
    got = extract_text(load_sample("latin1-note"))
    assert got is not None
    assert got.charset == "iso-8859-1"
    assert got.text is not None
    assert "Zoë Müller" in got.text
    assert "38,7 °C" in got.text


def test_utf8_default_and_bom_stripped() -> None:
    got = extract_text(_doc({"contentType": "text/plain", "data": _b64("\ufeffcafé".encode())}))
    assert got is not None
    assert got.text == "café"
    assert got.charset == "utf-8"


def test_undeclared_non_utf8_is_detected_as_cp1252() -> None:
    data = "naïve “quoted” café".encode("cp1252")
    got = extract_text(_doc({"contentType": "text/plain", "data": _b64(data)}))
    assert got is not None
    assert got.text == "naïve “quoted” café"
    assert got.charset == "cp1252"


def test_unknown_or_wrong_declared_charset_falls_back() -> None:
    assert decode_text(b"abc", "text/plain; charset=x-unknown-9") == ("abc", "utf-8")
    # Declared utf-8 but really latin-1: falls through to detection.
    assert decode_text("é".encode("latin-1"), "text/plain; charset=utf-8")[0] == "é"


def test_url_attachment_returns_marker() -> None:
    got = extract_text(_doc({"contentType": "text/plain", "url": "Binary/abc"}))
    assert got is not None
    assert got.needs_fetch
    assert got.text is None
    assert got.url == "Binary/abc"


@pytest.mark.parametrize(
    "attachments",
    [
        [],
        [{"contentType": "application/pdf", "data": _b64(b"%PDF")}],
        [{"data": _b64(b"no content type")}],
        [{"contentType": "text/plain", "data": _b64(b"   \n  ")}],
        [{"contentType": "text/plain", "data": "!!!not base64!!!"}],
        [{"contentType": "text/plain"}],
    ],
)
def test_no_usable_text(attachments: list[dict[str, Any]]) -> None:
    assert extract_text(_doc(*attachments)) is None


def test_pdf_only_sample_has_no_text() -> None:
    assert extract_text(load_sample("pdf-only")) is None


def test_html_keeps_line_structure_and_drops_markup() -> None:
    html = (
        "<html><head><style>p{}</style><script>var x = 1;</script></head><body>"
        "<h1>Visit</h1><p>Pain &amp; fever<br/>since   Monday</p>"
        "<table><tr><td>BP</td><td>120/80</td></tr></table>"
        "<pre>line one\n  line two</pre></body></html>"
    )
    assert (
        html_to_text(html) == "Visit\nPain & fever\nsince Monday\nBP | 120/80\nline one\n  line two"
    )


def test_html_sample_decodes_entities() -> None:
    got = extract_text(load_sample("html-note"))
    assert got is not None
    assert got.text is not None
    assert "<" not in got.text
    assert "migraine with aura & medication overuse headache" in got.text
    assert "- Sumatriptan 50\u00a0mg PO at onset" in got.text.splitlines()


def test_parse_content_type_quoted_charset() -> None:
    assert parse_content_type('text/plain; format=flowed; charset="UTF-8"') == (
        "text/plain",
        "utf-8",
    )


def test_content_hash_is_sha256_of_utf8() -> None:
    assert content_hash("Zoë") == hashlib.sha256("Zoë".encode()).hexdigest()


def test_base64_whitespace_is_every_character_re_calls_whitespace() -> None:
    import re

    from enrich.text import _without_whitespace

    spaces = "".join(chr(c) for c in range(0x110000) if re.fullmatch(r"\s", chr(c)))
    assert {" ", "\t", "\n", "\r", "\x0b", "\x0c", "\u2003", "\u3000"} <= set(spaces)
    for data in ("", spaces, "aGVs", f"aGVs{spaces}bG8=", f"{spaces}aG Vs\r\nbG8={spaces}"):
        assert _without_whitespace(data) == re.sub(r"\s+", "", data)
    encoded = _b64("caf\u00e9 line\n".encode()).replace("Y", "Y\r\n\u2003")
    found = extract_text(_doc({"contentType": "text/plain", "data": encoded}))
    assert found is not None
    assert found.text == "caf\u00e9 line\n"
