"""Allergy statements: allergens as BEHAVIORAL_ENVIRONMENTAL_SOCIAL / ALLERGIES, reactions linked.

An allergy list names substances the patient must not get, not drugs the patient takes or
conditions the patient has. Inside an allergy section body, and after an allergy cue ("allergic
to") up to the end of its clause, the text is split into items. An item's allergen is its
medication entity, else a known substance, else its leading words; its conditions are reactions.
Each allergen becomes an ALLERGIES entity (Comprehend Medical's type for "allergies and reactions
to allergens") with role ``ALLERGEN``; the medication at its span keeps its entity but is marked
``ALLERGEN`` too, and each reaction is marked ``REACTION`` of it. "NKDA" and its kin make one
negated ALLERGIES entity. Rules are data: ``rules/allergies.json``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from nlp.local.mention import BES, MC, MED, Mention
from nlp.local.sections import Section, alternation
from nlp.local.spans import SpanSet
from nlp.local.text import load_rules

ALLERGIES = "ALLERGIES"
ALLERGEN, REACTION = "ALLERGEN", "REACTION"
_CLAUSE_END_RE = re.compile(r"[;\n]|\.(?!\d)")
_SENTENCE_END_RE = re.compile(r"\.(?=\s)")
_WORDS_RE = re.compile(r"[A-Za-z][A-Za-z0-9'-]*(?:[ \t]+[A-Za-z][A-Za-z0-9'-]*){0,2}")


@dataclass(frozen=True, slots=True)
class Region:
    """Text where allergens are listed: ``[begin, end)``."""

    begin: int
    end: int


class AllergyStatements:
    """Finds allergy statements and marks allergens and reactions (see the module docstring).

    Config (``rules/allergies.json``): ``cues``, ``none`` (phrases meaning "no allergies"),
    ``item_separators`` and ``reaction_separators`` (regular expressions), ``skip_items``
    (items that name nothing) and ``substances`` (FHIR AllergyIntolerance.category -> names
    that are not in the medication lexicon).
    """

    def __init__(self) -> None:
        data = load_rules("allergies.json")
        self._cue_re = re.compile(rf"(?<![\w-])(?:{alternation(data['cues'])})(?![\w-])", re.I)
        self._none = frozenset(p.lower() for p in data["none"])
        anywhere = [
            p for p in data["none"] if "allerg" in p or (len(p) <= 4 and p.startswith("nk"))
        ]
        self._none_re = re.compile(rf"(?<![\w-])(?:{alternation(anywhere)})(?![\w-])", re.I)
        self._item_re = re.compile(data["item_separators"], re.I)
        self._reaction_re = re.compile(data["reaction_separators"], re.I)
        self._skip = frozenset(p.lower() for p in data["skip_items"])
        self._substance: dict[str, str] = {}
        for category, names in data["substances"].items():
            for name in names:
                self._substance.setdefault(name.lower(), category)
        self._substance_re = re.compile(
            rf"(?<![\w-])(?:{alternation(list(self._substance))})(?![\w-])", re.I
        )
        self._quick = ("allerg", "nkda", "nka", "intoleran", "sensitiv", "anaphyla")

    def regions(
        self, text: str, sections: Sequence[Section], roles: dict[str, str]
    ) -> list[Region]:
        """Allergy section bodies and cue clauses, in text order.

        A section body that starts on the header's line ends at its first sentence end.
        """
        out = []
        for s in sections:
            if roles.get(s.category) != "allergy":
                continue
            end = s.end
            line = text.find("\n", s.header_end, s.end)
            if text[s.header_end : line if line >= 0 else s.end].strip():
                stop = _SENTENCE_END_RE.search(text, s.header_end, s.end)  # "Allergies: none. ..."
                end = stop.start() + 1 if stop is not None else end
            out.append(Region(s.header_end, end))
        inside = SpanSet((r.begin, r.end) for r in out)
        for m in self._cue_re.finditer(text):
            if inside.overlaps(m.start(), m.end()):
                continue
            clause = _CLAUSE_END_RE.search(text, m.end())
            out.append(Region(m.end(), clause.start() if clause is not None else len(text)))
        out.sort(key=lambda r: r.begin)
        return out

    def apply(
        self, text: str, mentions: list[Mention], sections: Sequence[Section], roles: dict[str, str]
    ) -> tuple[list[Mention], dict[int, str]]:
        """``mentions`` plus the ALLERGIES entities; allergens and reactions marked.

        Returns:
            The new mention list and ``{id(mention): "NEGATION"}`` for "NKDA" and its kin.
        """
        lowered = text.lower()
        if not any(q in lowered for q in self._quick):
            return mentions, {}
        added: list[Mention] = []
        fixed: dict[int, str] = {}
        negated_spans: list[tuple[int, int]] = []
        for hit in self._none_re.finditer(text):
            negated_spans.append((hit.start(), hit.end()))
        regions = self.regions(text, sections, roles)
        by_begin = sorted(mentions, key=lambda m: m.begin)
        dropped: set[int] = set()
        for region in regions:
            inside = [m for m in by_begin if region.begin <= m.begin and m.end <= region.end]
            allergen: Mention | None = None
            for b, e in self._items(text, region):
                item = text[b:e]
                key = item.strip(" \t.:-*").lower()
                if key in self._none:
                    lead = len(item) - len(item.lstrip(" \t.:-*"))
                    negated_spans.append((b + lead, b + len(item.rstrip(" \t.:-*"))))
                    continue
                if not key or key in self._skip:
                    continue
                members = [m for m in inside if b <= m.begin and m.end <= e]
                conditions = [m for m in members if m.category == MC]
                found = self._allergen(text, b, e, members)
                if found is not None and found[3] is None and found[2] is None and conditions:
                    found = None  # leading words and a condition: a reaction clause
                if found is None:
                    # an item holding only a reaction ("rash and hives") belongs to the last one
                    if allergen is not None:
                        for c in conditions:
                            _react(c, allergen)
                    continue
                begin, end, category, med = found
                for m in members:
                    if m.category == MC and m.begin < end and begin < m.end:
                        dropped.add(id(m))  # the allergen's own words are no condition
                allergen = Mention(begin, end, BES, ALLERGIES, 0.9, "allergy")
                allergen.role, allergen.substance = ALLERGEN, category
                if med is not None:
                    med.role, med.substance = ALLERGEN, category
                added.append(allergen)
                for c in conditions:
                    if id(c) not in dropped:
                        _react(c, allergen)
        taken = SpanSet((a.begin, a.end) for a in added)
        negated_spans.sort()
        last_end = -1
        for b, e in negated_spans:
            if taken.overlaps(b, e) or b < last_end:
                continue
            last_end = e
            none = Mention(b, e, BES, ALLERGIES, 0.9, "allergy")
            added.append(none)
            fixed[id(none)] = "NEGATION"
        kept = [m for m in mentions if id(m) not in dropped] if dropped else mentions
        return kept + added, fixed

    def _items(self, text: str, region: Region) -> list[tuple[int, int]]:
        """Item spans of a region, split at separators outside parentheses."""
        out: list[tuple[int, int]] = []
        start = region.begin
        depth = 0
        pos = region.begin
        while pos < region.end:
            ch = text[pos]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth = max(0, depth - 1)
            elif depth == 0:
                sep = self._item_re.match(text, pos, region.end)
                if sep is not None and sep.end() > pos:
                    out.append((start, pos))
                    start = pos = sep.end()
                    continue
            pos += 1
        out.append((start, region.end))
        return [(b, e) for b, e in out if text[b:e].strip()]

    def _allergen(
        self, text: str, b: int, e: int, members: list[Mention]
    ) -> tuple[int, int, str | None, Mention | None] | None:
        """``(begin, end, substance category, medication mention)`` of an item's allergen."""
        meds = [m for m in members if m.category == MED]
        if meds:
            return meds[0].begin, meds[0].end, "medication", meds[0]
        hit = self._substance_re.search(text, b, e)
        if hit is not None:
            return hit.start(), hit.end(), self._substance[hit.group().lower()], None
        sep = self._reaction_re.search(text, b, e)
        head_end = sep.start() if sep is not None else e
        head = _WORDS_RE.search(text, b, head_end)
        if head is None or text[b : head.start()].strip(" \t-*:"):
            return None
        if any(m.category == MC and m.begin < head.end() and head.start() < m.end for m in members):
            return None  # the item starts with a condition: a reaction, not an allergen
        if head.group().split()[0].lower() in self._skip or head.group().lower() in self._none:
            return None
        return head.start(), head.end(), None, None


def _acronym(phrase: str) -> bool:
    """ "nkda", "nka": short "no known ..." acronyms, meaningful anywhere in a note."""
    return phrase.startswith("nk") and len(phrase) <= 4


def _react(condition: Mention, allergen: Mention) -> None:
    condition.role = REACTION
    condition.related = (allergen.begin, allergen.end)
