"""Section detection: header rules (medspacy's defaults plus ours) compiled into two regexes."""

from __future__ import annotations

import bisect
import importlib.util
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nlp.local.text import load_rules


@dataclass(frozen=True, slots=True)
class Section:
    """A section: header span ``[begin, header_end)`` and body up to ``end``."""

    category: str
    begin: int
    header_end: int
    end: int


def _medspacy_headers() -> list[tuple[str, str]]:
    spec = importlib.util.find_spec("medspacy")
    if spec is None or spec.origin is None:
        return []
    path = Path(spec.origin).resolve().parents[1] / "resources" / "en" / "section_patterns.json"
    if not path.exists():
        return []
    rules = json.loads(path.read_text(encoding="utf-8"))["section_rules"]
    out: list[tuple[str, str]] = []
    for r in rules:
        if r.get("pattern") is None:
            out.append((str(r["literal"]).rstrip(":").strip().lower(), str(r["category"])))
    return out


_BLANK_LINE_RE = re.compile(r"\n[ \t\r]*\n")


def alternation(phrases: Iterable[str]) -> str:
    """A regex alternation of literal phrases, longest first (so the longest one matches)."""
    return "|".join(re.escape(p) for p in sorted(set(phrases), key=len, reverse=True))


class Sectionizer:
    """Finds section headers and assigns each character to a section.

    Config (``rules/sections.json``): ``headers`` (literal, category) added to medspacy's
    default ``section_patterns.json`` (ours win on a clash); ``category_traits`` (section ->
    DIAGNOSIS/SIGN/SYMPTOM); ``category_context`` (section -> ConText category such as
    HISTORICAL, as medspacy's sectionizer DEFAULT_ATTRS); ``category_roles`` (section ->
    ``allergy``, ``social``, ``medications``: what the meaning rules do there).

    A header is a known literal followed by ``:`` or `` - `` (or, for a block header, the line
    end). Block headers start a line; inline headers follow ``.`` or ``;`` inside a line, as
    nursing notes write them ("...; PMH: CAD, HTN; HPI: ..."). Headers of three letters or
    fewer need a colon. A section ends at the next header; a header followed by text on its own
    line ends at the first blank line too, and an inline header at the end of its line. The
    ``line_sections`` categories (allergies: a drug taken must never fall into them) end at the
    end of the header's line when text follows it there, else at the first blank line.
    """

    def __init__(self) -> None:
        data = load_rules("sections.json")
        headers: dict[str, str] = {}
        for literal, category in _medspacy_headers():
            headers.setdefault(literal, category)
        for h in data["headers"]:
            headers[str(h["literal"]).lower()] = str(h["category"])
        self.categories = headers
        self.traits: dict[str, str] = dict(data["category_traits"])
        self.context: dict[str, str] = dict(data["category_context"])
        self.roles: dict[str, str] = dict(data["category_roles"])
        self._line_sections = frozenset(data["line_sections"])
        long_alt = alternation(h for h in headers if len(h) > 3)
        short_alt = alternation(h for h in headers if len(h) <= 3)
        self._block = re.compile(
            rf"(?im)^[ \t]*(?:\d{{1,2}}[.)][ \t]*)?"
            rf"(?P<h>(?:{long_alt})(?=[ \t]*(?::|-[ \t]|$))|(?:{short_alt})(?=[ \t]*:))"
            rf"[ \t]*(?::|-(?=[ \t]))?"
        )
        self._inline = re.compile(
            rf"(?i)(?<=[.;])[ \t]+(?P<h>(?:{long_alt})(?=[ \t]*(?::|-[ \t]))|(?:{short_alt})"
            rf"(?=[ \t]*:))[ \t]*(?::|-(?=[ \t]))"
        )

    def find(self, text: str) -> list[Section]:
        """The sections of ``text`` in order (text before the first header has none)."""
        hits = [(m.start("h"), m.end(), m.group("h"), True) for m in self._block.finditer(text)]
        if ";" in text or "." in text:
            hits += [
                (m.start("h"), m.end(), m.group("h"), False) for m in self._inline.finditer(text)
            ]
            hits.sort()
        out: list[Section] = []
        n = len(text)
        for i, (b, he, literal, block) in enumerate(hits):
            end = hits[i + 1][0] if i + 1 < len(hits) else n
            line_end = text.find("\n", he)
            line_end = n if line_end < 0 else line_end
            category = self.categories[literal.lower()]
            tight = category in self._line_sections
            if not block or (tight and text[he:line_end].strip()):
                end = min(end, line_end)
            elif tight or text[he:line_end].strip():
                blank = _BLANK_LINE_RE.search(text, line_end, end)
                if blank is not None:
                    end = blank.start() + 1
            out.append(Section(category, b, he, end))
        return out

    @staticmethod
    def at(sections: list[Section], starts: list[int], offset: int) -> Section | None:
        """The section containing character ``offset`` (``starts`` = section begins)."""
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0:
            return None
        s = sections[i]
        return s if offset < s.end else None
