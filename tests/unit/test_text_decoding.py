"""Decoding fixes of issue 9 (enrich/text.py): BOMs, bad base64 falling through, RTF reduced."""

from __future__ import annotations

import base64
import codecs
from typing import Any

import pytest

from enrich.text import decode_text, extract_text, rtf_to_text

NOTE = "Patient reports chest pain; café visit. \U0001f600 Amoxicillin 500 mg."


def attachment(data: bytes | str, content_type: str) -> dict[str, Any]:
    raw = data if isinstance(data, str) else base64.b64encode(data).decode()
    return {"attachment": {"contentType": content_type, "data": raw}}


def doc(*contents: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "DocumentReference", "id": "d", "content": list(contents)}


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
    ],
)
@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8"])
def test_a_bom_decides_the_encoding_and_is_not_text(
    bom: bytes, codec: str, content_type: str
) -> None:
    text, used = decode_text(bom + NOTE.encode(codec), content_type)
    assert text == NOTE  # not cp1252 garbage, no leading U+FEFF
    assert used == codec.removesuffix("-le").removesuffix("-be")


def test_utf8_bom_offsets_do_not_depend_on_the_declared_charset() -> None:
    data = codecs.BOM_UTF8 + NOTE.encode("utf-8")
    declared, _ = decode_text(data, "text/plain; charset=utf-8")
    undeclared, _ = decode_text(data, "text/plain")
    assert declared == undeclared == NOTE
    assert declared.index("chest") == NOTE.index("chest")  # offsets agree


def test_utf16_without_bom_but_declared_still_decodes() -> None:
    text, used = decode_text(NOTE.encode("utf-16-le"), "text/plain; charset=utf-16le")
    assert (text, used) == (NOTE, "utf-16le")


def test_a_stray_bom_falls_back_to_detection() -> None:
    data = codecs.BOM_UTF16_BE + b"\xd8\x00"  # a lone high surrogate: not UTF-16 text
    text, _ = decode_text(data, "text/plain")
    assert text  # decoded by the fallbacks, no exception


def test_bad_base64_in_the_first_attachment_falls_through_to_the_next() -> None:
    good = attachment(NOTE.encode(), "text/plain")
    for bad in ("!!!not base64!!!", "YWJ", "Y", "YW-j"):
        extracted = extract_text(doc(attachment(bad, "text/plain"), good))
        assert extracted is not None
        assert (extracted.text, extracted.attachment_index) == (NOTE, 1)
    wrapped = base64.b64encode(NOTE.encode()).decode()
    wrapped = "\n".join(wrapped[i : i + 20] for i in range(0, len(wrapped), 20))
    extracted = extract_text(doc(attachment(wrapped, "text/plain")))  # MIME line breaks are fine
    assert extracted is not None
    assert extracted.text == NOTE
    assert extract_text(doc(attachment("!!!", "text/plain"))) is None


def test_a_blank_first_attachment_falls_through_too() -> None:
    extracted = extract_text(
        doc(attachment(b"   \n", "text/plain"), attachment(NOTE.encode(), "text/plain"))
    )
    assert extracted is not None
    assert extracted.attachment_index == 1


RTF = (
    r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Arial;}}{\colortbl;\red0\green0\blue0;}"
    r"{\*\generator Riched20 10.0;}\viewkind4\uc1\pard\f0\fs20 Patient reports \b chest pain"
    r"\b0  since Monday.\par Caf\'e9 au lait spots. \u8226? Amoxicillin 500 mg\par"
    r"{\pict\pngblip 89504e470d0a}Plan: follow up\par}"
)


@pytest.mark.parametrize("content_type", ["text/rtf", "application/rtf", "text/richtext"])
def test_rtf_is_reduced_to_its_text(content_type: str) -> None:
    extracted = extract_text(doc(attachment(RTF.encode("ascii"), content_type)))
    assert extracted is not None
    assert extracted.text == (
        "Patient reports chest pain since Monday.\nCafé au lait spots. • Amoxicillin 500 mg\n"
        "Plan: follow up\n"
    )
    assert "\\" not in extracted.text
    assert "fonttbl" not in extracted.text


def test_rtf_to_text_handles_damaged_input() -> None:
    assert rtf_to_text(r"{\rtf1 unterminated \b bold") == "unterminated bold"
    assert rtf_to_text("plain words") == "plain words"
