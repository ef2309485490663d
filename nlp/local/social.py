"""Social history: tobacco, alcohol and recreational drug use as BEHAVIORAL_ENVIRONMENTAL_SOCIAL.

Comprehend Medical's types (botocore service model): TOBACCO_USE, ALCOHOL_CONSUMPTION,
REC_DRUG_USE, with AMOUNT, FREQUENCY and DURATION attributes. A behaviour is not a condition:
"smoker" stops being a nicotine-dependence DX_NAME and "alcohol" a MEDICATION. Whether use is
current, past or never comes from ConText (PAST_HISTORY, NEGATION), or from the phrase itself
("nonsmoker", "ex-smoker"). Rules are data: ``rules/social.json``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from nlp.local.matcher import TermMatcher
from nlp.local.mention import BES, MC, MED, TTP, Attr, Mention
from nlp.local.sections import Section, alternation
from nlp.local.text import Normaliser, Words, load_rules

NEGATION, PAST_HISTORY = "NEGATION", "PAST_HISTORY"
_CLAUSE_END_RE = re.compile(r"[.;\n]|,\s*(?:and\s+)?(?:denies|no|never|former|quit)\b", re.I)


@dataclass(frozen=True, slots=True)
class _Phrase:
    """A behaviour phrase as a matcher term (``code`` holds what the words say by themselves)."""

    text: str
    type: str
    code: str | None
    category: str = BES
    source: str = "social"


@dataclass(frozen=True, slots=True)
class Behaviour:
    """A behaviour phrase found in the text, with the trait its words carry by themselves."""

    begin: int
    end: int
    type: str
    trait: str | None


class SocialHistory:
    """Finds behaviours and turns them into BES mentions (see the module docstring).

    Phrases are matched like lexicon terms (a trie over the note's normalised words).

    Args:
        normaliser: The annotator's word normaliser.

    Config (``rules/social.json``): ``types`` (type -> ``phrases``, ``never``, ``past``,
    ``context_phrases`` and their ``context`` words: a context phrase counts in a social-history
    section, or with a context word in its clause; ``section_phrases`` count in the section
    only), ``not_before`` (words that cancel a phrase they follow) and ``attributes``
    (attribute type -> regular expression).
    """

    def __init__(self, normaliser: Normaliser) -> None:
        data = load_rules("social.json")
        self.normaliser = normaliser
        self.matcher = TermMatcher(normaliser)
        for typ, spec in data["types"].items():
            for key, kind in (
                ("never", NEGATION),
                ("past", PAST_HISTORY),
                ("phrases", None),
                ("context_phrases", "context"),
                ("section_phrases", "section"),
            ):
                self.matcher.add(_Phrase(p, typ, kind) for p in spec[key])
        self.matcher.finalise()
        # one word of each phrase that must be in the note (its last, or the one before a
        # generic last word): most notes hold none, and the phrase search is skipped
        self._anchors = frozenset(
            _anchor(normaliser.phrase_key(p))
            for spec in data["types"].values()
            for key in ("never", "past", "phrases", "context_phrases", "section_phrases")
            for p in spec[key]
        )
        self._not_before = re.compile(rf"[ \t]*(?:{alternation(data['not_before'])})\b", re.I)
        self._context: dict[str, re.Pattern[str]] = {
            typ: re.compile(rf"\b(?:{alternation(spec['context'])})\b", re.I)
            for typ, spec in data["types"].items()
            if spec["context"]
        }
        self._attributes = [(t, re.compile(rx, re.I)) for t, rx in data["attributes"].items()]

    def find(
        self, text: str, social: Sequence[tuple[int, int]], words: Words | None = None
    ) -> list[Behaviour]:
        """Behaviour phrases of ``text``; ``social`` = spans of social-history sections.

        ``words`` are ``normaliser.words(text)`` when the caller has them already.
        """
        if words is None:
            words = self.normaliser.words(text)
        if self._anchors.isdisjoint(words.keys):
            return []
        starts = [b for b, _ in social]
        out: list[Behaviour] = []
        for m in self.matcher.find(text, words):
            entry = m.entries[0]
            typ, trait = entry.type, entry.code
            if self._not_before.match(text, m.end):
                continue
            if trait in ("context", "section"):
                i = bisect.bisect_right(starts, m.begin) - 1
                in_section = i >= 0 and m.begin < social[i][1]
                if not in_section and (
                    trait == "section" or not self._in_context(text, typ, m.begin, m.end)
                ):
                    continue
                trait = None
            prev = out[-1] if out else None
            if prev is not None and prev.type == typ and not text[prev.end : m.begin].strip():
                # "drinks alcohol", "smokes cigarettes": one behaviour
                out[-1] = Behaviour(prev.begin, m.end, typ, prev.trait or trait)
                continue
            out.append(Behaviour(m.begin, m.end, typ, trait))
        return out

    def _in_context(self, text: str, typ: str, begin: int, end: int) -> bool:
        """A context word of ``typ`` in the clause around ``[begin, end)``."""
        rx = self._context.get(typ)
        if rx is None:
            return False
        start = max(0, begin - 40)
        start = max(start, *(text.rfind(c, start, begin) + 1 for c in ".;\n"))
        return bool(
            rx.search(text, start, begin) or rx.search(text, end, _clause_end(text, end, 40))
        )

    def apply(
        self,
        text: str,
        mentions: list[Mention],
        sections: Sequence[Section],
        roles: dict[str, str],
        words: Words | None = None,
    ) -> tuple[list[Mention], dict[int, str]]:
        """``mentions`` with behaviours as BES mentions, and the traits the phrases carry.

        A condition, medication or test that is exactly (or inside) a behaviour phrase is
        replaced by it; a behaviour phrase inside a longer condition or test is not one.

        Returns:
            The new mention list and ``{id(mention): trait}`` for "nonsmoker", "ex-smoker"...
        """
        social = [(s.header_end, s.end) for s in sections if roles.get(s.category) == "social"]
        found = self.find(text, social, words)
        if not found:
            return mentions, {}
        others = sorted(
            (m for m in mentions if m.category in (MC, MED, TTP)), key=lambda m: m.begin
        )
        begins = [m.begin for m in others]
        replaced: set[int] = set()
        behaviours: list[Mention] = []
        fixed: dict[int, str] = {}
        for b in found:
            lo = bisect.bisect_left(begins, b.begin - 60)
            inside_longer = False
            covered: list[Mention] = []
            for m in others[lo:]:
                if m.begin >= b.end:
                    break
                if m.end <= b.begin:
                    continue
                if m.begin <= b.begin and b.end <= m.end and (m.end - m.begin) > (b.end - b.begin):
                    inside_longer = m.category != MED  # "alcohol withdrawal", "alcohol level"
                    if inside_longer:
                        break
                covered.append(m)
            if inside_longer:
                continue
            replaced.update(id(m) for m in covered)
            mention = Mention(b.begin, b.end, BES, b.type, 0.9, "social")
            self._attach(text, mention)
            behaviours.append(mention)
            if b.trait is not None:
                fixed[id(mention)] = b.trait
        kept = [m for m in mentions if id(m) not in replaced]
        return kept + behaviours, fixed

    def _attach(self, text: str, mention: Mention) -> None:
        """AMOUNT / FREQUENCY / DURATION written in the behaviour's clause."""
        limit = _clause_end(text, mention.end, 80)
        start = max(0, mention.begin - 40)
        before = max(text.rfind(".", start, mention.begin), text.rfind(";", start, mention.begin))
        start = max(start, text.rfind("\n", start, mention.begin) + 1, before + 1)
        for typ, rx in self._attributes:
            for window in ((mention.end, limit), (start, mention.begin)):
                hit = rx.search(text, *window)
                if hit is not None:
                    mention.attributes.append(
                        Attr(hit.start(), hit.end(), typ, BES, typ, 0.85, 0.9)
                    )
                    break


def _clause_end(text: str, begin: int, most: int) -> int:
    """End of the clause that starts at ``begin``, at most ``most`` characters on."""
    end = _CLAUSE_END_RE.search(text, begin, begin + most)
    return end.start() if end is not None else min(len(text), begin + most)


_GENERIC_LAST = frozenset({"use", "user", "intake", "consumption", "drug", "substance"})


def _anchor(keys: tuple[str, ...] | list[str]) -> str:
    """The word of a phrase checked first: its last, unless that one is generic."""
    if len(keys) > 1 and keys[-1] in _GENERIC_LAST:
        return keys[-2]
    return keys[-1] if keys else ""
