"""Section detection: header rules (medspacy's defaults plus ours) compiled into one regex."""

from __future__ import annotations

import bisect
import importlib.util
import json
import re
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


class Sectionizer:
    """Finds section headers at line starts and assigns each character to a section.

    Config (``rules/sections.json``): ``headers`` (literal, category) added to medspacy's
    default ``section_patterns.json``; ``category_traits`` (section -> DIAGNOSIS/SIGN/SYMPTOM);
    ``category_context`` (section -> ConText category such as HISTORICAL, as medspacy's
    sectionizer DEFAULT_ATTRS). Headers of three letters or fewer need a colon.
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
        long_alt = "|".join(
            re.escape(h) for h in sorted(headers, key=len, reverse=True) if len(h) > 3
        )
        short_alt = "|".join(
            re.escape(h) for h in sorted(headers, key=len, reverse=True) if len(h) <= 3
        )
        self._re = re.compile(
            rf"(?im)^[ \t]*(?:\d{{1,2}}[.)][ \t]*)?"
            rf"(?P<h>(?:{long_alt})(?=[ \t]*(?::|$))|(?:{short_alt})(?=[ \t]*:))[ \t]*:?"
        )

    def find(self, text: str) -> list[Section]:
        """The sections of ``text`` in order (text before the first header has none)."""
        hits = [
            (m.start("h"), m.end(), self.categories[m.group("h").lower()])
            for m in self._re.finditer(text)
        ]
        out: list[Section] = []
        for i, (b, he, cat) in enumerate(hits):
            end = hits[i + 1][0] if i + 1 < len(hits) else len(text)
            out.append(Section(cat, b, he, end))
        return out

    @staticmethod
    def at(sections: list[Section], starts: list[int], offset: int) -> Section | None:
        """The section containing character ``offset`` (``starts`` = section begins)."""
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0:
            return None
        s = sections[i]
        return s if offset < s.end else None
