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
_CLAUSE_THEN_WORD_RE = re.compile(r"[.;][ \t]+([A-Za-z0-9]+)")
_LINE_START_WORD_RE = re.compile(r"(?m)^[ \t]*(?:\d{1,2}[.)][ \t]*)?([A-Za-z0-9]+)")


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
    ``line_sections`` categories (allergies: a drug taken must never fall into them; family
    history: what follows its line is about the patient again) end at the
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
        # candidates: line starts (block) and clause starts (inline) whose first word begins
        # a header; there the header literals are looked up longest first
        sizes: dict[str, set[int]] = {}
        for h in headers:
            sizes.setdefault(re.split(r"[^a-z0-9]", h)[0], set()).add(len(h))
        self._sizes = {w: sorted(v, reverse=True) for w, v in sizes.items()}

    def find(self, text: str) -> list[Section]:
        """The sections of ``text`` in order (text before the first header has none)."""
        by_first = self._sizes
        hits: list[tuple[int, int, str, bool]] = []
        for block, candidates in ((True, _LINE_START_WORD_RE), (False, _CLAUSE_THEN_WORD_RE)):
            for c in candidates.finditer(text):
                sizes = by_first.get(c.group(1).lower())
                if sizes is not None:
                    found = self._header_at(text, c.start(1), sizes, block)
                    if found is not None:
                        hits.append((c.start(1), found[1], found[0], block))
        hits.sort()
        out: list[Section] = []
        n = len(text)
        for i, (b, he, literal, block) in enumerate(hits):
            end = hits[i + 1][0] if i + 1 < len(hits) else n
            line_end = text.find("\n", he)
            line_end = n if line_end < 0 else line_end
            category = self.categories[literal]
            tight = category in self._line_sections
            if not block or (tight and text[he:line_end].strip()):
                end = min(end, line_end)
            elif tight or text[he:line_end].strip():
                blank = _BLANK_LINE_RE.search(text, line_end, end)
                if blank is not None:
                    end = blank.start() + 1
            out.append(Section(category, b, he, end))
        return out

    def _header_at(
        self, text: str, pos: int, sizes: list[int], block: bool
    ) -> tuple[str, int] | None:
        """The header literal at ``pos`` and where the header ends, or None.

        A literal must be followed by ``:``, or (over three letters) by ``-`` and a space, or,
        for a block header, by the end of its line.
        """
        n = len(text)
        for size in sizes:
            literal = text[pos : pos + size].lower()
            if len(literal) < size or literal not in self.categories:
                continue
            k = pos + size
            while k < n and text[k] in " \t":
                k += 1
            nxt = text[k] if k < n else "\n"
            if nxt == ":":
                return literal, k + 1
            if size > 3 and nxt == "-" and k + 1 < n and text[k + 1] in " \t":
                return literal, k + 1
            if size > 3 and block and nxt == "\n":
                return literal, k
        return None

    @staticmethod
    def at(sections: list[Section], starts: list[int], offset: int) -> Section | None:
        """The section containing character ``offset`` (``starts`` = section begins)."""
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0:
            return None
        s = sections[i]
        return s if offset < s.end else None
