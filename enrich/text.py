"""Text of a DocumentReference: the first text/* attachment, decoded, HTML reduced (DESIGN §1)."""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

_FALLBACK_CHARSETS = ("cp1252", "latin-1")
#: Byte-order marks, longest first (a UTF-32 LE mark starts like a UTF-16 LE one). A BOM says
#: the encoding more surely than a declared charset (as in HTML), and is never part of the text.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_RTF_TYPES = frozenset({"text/rtf", "text/richtext", "application/rtf"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "dd", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section",
        "table", "tbody", "thead", "tfoot", "tr", "ul",
    }
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})
_CELL_TAGS = frozenset({"td", "th"})
_REDUCED_MEDIA = frozenset({"text/html", "text/xhtml"})


@dataclass(frozen=True)
class ExtractedText:
    """The chosen attachment and, when inline, its decoded text.

    Attributes:
        text: The decoded text; ``None`` when the attachment is only referenced by ``url``
            (the caller reads that Binary and calls :func:`decode_text`).
        content_type: The attachment's contentType as written.
        charset: The charset actually used to decode (``None`` until decoded).
        attachment_index: Index of the attachment in ``content[]``.
        url: The attachment ``url`` when the text must be fetched.
    """

    text: str | None
    content_type: str
    charset: str | None
    attachment_index: int
    url: str | None = None

    @property
    def needs_fetch(self) -> bool:
        """True when the text lives in a Binary that the caller must read."""
        return self.text is None and self.url is not None


def parse_content_type(content_type: str) -> tuple[str, str | None]:
    """Media type (lower-case) and charset parameter of a contentType.

    >>> parse_content_type("text/plain; charset=ISO-8859-1")
    ('text/plain', 'iso-8859-1')
    >>> parse_content_type("TEXT/HTML")
    ('text/html', None)
    """
    parts = [p.strip() for p in content_type.split(";")]
    media = parts[0].lower()
    charset = None
    for param in parts[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    return media, charset


def _decode_bytes(data: bytes, charset: str | None) -> tuple[str, str]:
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(name), name.removesuffix("-le").removesuffix("-be")
            except UnicodeDecodeError:
                break  # a stray mark: fall back to the declared charset and detection
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = None
    if charset:
        try:
            return data.decode(charset), charset
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    for candidate in _FALLBACK_CHARSETS:
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"  # pragma: no cover - latin-1 never fails


class _HtmlToText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0

    def _break(self) -> None:
        line = "".join(self.current)
        if not self.pre_depth:
            line = re.sub(r"[ \t\r\f\v]+", " ", line).strip()
        self.lines.append(line)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag == "br":
            self._break()
        elif tag in _BLOCK_TAGS:
            if self.current:
                self._break()
            if tag == "pre":
                self.pre_depth += 1
            if tag == "li":
                self.current.append("- ")
        elif tag in _CELL_TAGS and self.current and "".join(self.current).strip():
            self.current.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            if self.current:
                self._break()
            if tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        if tag == "br" or tag in _BLOCK_TAGS:
            self._break()

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pre_depth:
            chunks = data.split("\n")
            for i, chunk in enumerate(chunks):
                if i:
                    self._break()
                self.current.append(chunk)
        else:
            self.current.append(data.replace("\n", " "))

    def text(self) -> str:
        if self.current:
            self._break()
        out: list[str] = []
        for line in self.lines:
            if line.strip() or (out and out[-1].strip()):
                out.append(line if line.strip() else "")
        while out and not out[-1].strip():
            out.pop()
        return "\n".join(out)


def html_to_text(html: str) -> str:
    """Reduce HTML to plain text, one line per block element or ``<br>``.

    >>> html_to_text("<html><head><title>x</title></head><body><h1>Note</h1>"
    ...              "<p>Pain &amp; fever<br>since Monday</p><ul><li>a</li></ul></body></html>")
    'Note\\nPain & fever\\nsince Monday\\n- a'
    """
    parser = _HtmlToText()
    parser.feed(html)
    parser.close()
    return parser.text()


def is_reduced(content_type: str) -> bool:
    """True when the analysed text is derived from the attachment (HTML or RTF reduced to
    text), so offsets into it are not offsets into the attachment.

    >>> is_reduced("text/html; charset=utf-8"), is_reduced("text/plain")
    (True, False)
    """
    media = parse_content_type(content_type)[0]
    return media in _REDUCED_MEDIA or media in _RTF_TYPES


def decode_text(data: bytes, content_type: str) -> tuple[str, str]:
    """Decode attachment bytes to text (charset from contentType, else UTF-8, else detected).

    HTML (``text/html``) is reduced to text. Returns ``(text, charset_used)``.

    >>> decode_text("caf\\u00e9".encode("latin-1"), "text/plain")
    ('café', 'cp1252')
    """
    media, charset = parse_content_type(content_type)
    text, used = _decode_bytes(data, charset)
    text = text.removeprefix("\ufeff")  # a BOM inside a declared charset: not text either
    if media in _REDUCED_MEDIA:
        text = html_to_text(text)
    elif media in _RTF_TYPES:
        text = rtf_to_text(text)
    return text, used


def rtf_to_text(rtf: str) -> str:
    """Reduce RTF to its plain text (control words, font and colour tables, pictures dropped;
    ``\\par`` a line break, ``\\'e9`` and ``\\u8226?`` characters): never analysed raw.

    >>> rtf_to_text(r"{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\f0 Caf\\'e9 \\b pain\\b0\\par}")
    'Café pain\\n'
    """
    from striprtf.striprtf import rtf_to_text as strip

    return str(strip(rtf, encoding="cp1252", errors="replace"))  # type: ignore[no-untyped-call]


def _without_whitespace(data: str) -> str:
    """``data`` without its whitespace: ``str.split`` cuts at the characters ``\\s`` matches
    (both test ``Py_UNICODE_ISSPACE``), ~10x faster than ``re.sub`` on a note's base64.

    >>> _without_whitespace("aGVs\\r\\nbG8=\\u2003")
    'aGVsbG8='
    """
    return "".join(data.split())


def extract_text(doc: dict[str, Any]) -> ExtractedText | None:
    """The text of the first ``content[].attachment`` with a ``text/*`` contentType.

    Inline ``data`` (base64) is decoded; an attachment with only a ``url`` gives an
    :class:`ExtractedText` whose ``needs_fetch`` is true. An attachment whose data is not
    base64, or decodes to blank text, is passed over for the next one. ``None`` means no usable
    text in any attachment -> status ``UNSUPPORTED_CONTENT``. RTF (``text/rtf``,
    ``application/rtf``) is reduced to its text.
    """
    contents = doc.get("content")
    if not isinstance(contents, list):
        return None
    for index, content in enumerate(contents):
        attachment = content.get("attachment") if isinstance(content, dict) else None
        if not isinstance(attachment, dict):
            continue
        content_type = attachment.get("contentType")
        if not isinstance(content_type, str):
            continue
        media, _ = parse_content_type(content_type)
        if not media.startswith("text/") and media not in _RTF_TYPES:
            continue
        data = attachment.get("data")
        if isinstance(data, str):
            try:  # FHIR base64Binary may carry whitespace (line breaks), nothing else
                raw = base64.b64decode(_without_whitespace(data), validate=True)
            except (binascii.Error, ValueError):
                continue
            text, used = decode_text(raw, content_type)
            if not text.strip():
                continue
            return ExtractedText(text, content_type, used, index)
        url = attachment.get("url")
        if isinstance(url, str) and url:
            return ExtractedText(None, content_type, None, index, url=url)
        return None
    return None


def content_hash(text: str) -> str:
    """SHA-256 hex digest of the UTF-8 text (the loop guard's key).

    >>> content_hash("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
