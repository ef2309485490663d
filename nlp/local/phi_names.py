"""PHI names: after titles and roles, relations, initials, before "aware"; name pairs."""

from __future__ import annotations

import re
from typing import Any

from nlp.local.phi_words import (
    CERTAIN_NAME,
    COMMON,
    NAME_WORD,
    VERY_COMMON,
    WORD_AT_RE,
    PhiSpan,
    PhiWords,
    alternation,
    at,
    match_at,
    matches_at,
    titled,
)
from nlp.local.text import STOPWORDS


class NameRules:
    """Names as clinical notes write them.

    Config (``rules/phi.json``): ``name_titles`` (a name follows: "Dr."), ``dotted_titles``
    (titles only with a period: "Mr.", "Ms."), ``role_titles`` (roles that may precede a
    name: "NP", "HO", "resident"; the name must be a census name), ``relation_cues``
    (relatives and contact words: "wife", "per", "with"), ``plural_relation_cues`` (followed
    by a list of names: "sons"), ``notified_cues`` ("aware", "paged": a name before them).

    Args:
        lex: Word lists and tests.
        data: The PHI rules.
    """

    def __init__(self, lex: PhiWords, data: dict[str, Any]) -> None:
        self.lex = lex
        self._strong_titles = frozenset(t.rstrip(".").lower() for t in data["name_titles"])
        self._dotted_titles = frozenset(data["dotted_titles"])
        self._role_titles = frozenset(data["role_titles"])
        titles = self._strong_titles | self._dotted_titles | self._role_titles
        self._title_at = frozenset(titles)
        self._title_re = re.compile(
            rf"\b(?P<t>{alternation(titles)})(?:(?P<dot>\.)[ \t]*|[ \t]+)"
            rf"(?P<i>[A-Za-z]\.?[ \t]+)?(?P<v>{NAME_WORD})(?:[ \t]+(?P<w>{NAME_WORD}))?",
            re.I,
        )
        self._rel_re = re.compile(
            rf"\b(?P<cue>{alternation(data['relation_cues'])})\b"
            rf"(?:[ \t]*(?P<sep>[,:(]|-+)[ \t]*|[ \t]+)\(?"
            rf"(?P<v>{NAME_WORD})(?:[ \t]+(?P<w>{NAME_WORD}))?",
            re.I,
        )
        self._rel_at = frozenset(c.split()[0].lower() for c in data["relation_cues"])
        self._strong_cues = frozenset(data["relation_cues"]) - _WEAK_RELATION_CUES
        self._plural_cues = frozenset(data["plural_relation_cues"])
        self._notified_at = frozenset(data["notified_cues"])
        self._pair_re = re.compile(rf"\b(?P<v>{NAME_WORD}[ \t]+{NAME_WORD})\b")

    def find(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Name spans of ``text`` (``positions``: lower-case word -> start offsets)."""
        out = self._titled_names(text, positions)
        out.extend(self._relatives(text, positions))
        out.extend(self._initials(text, positions))
        out.extend(self._notified(text, positions))
        out.extend(self._name_pairs(text, positions))
        return out

    def _titled_names(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Names after titles ("Dr. J. Smith", "Mrs. Lee") and roles ("NP Quell", "HO Sanz")."""
        out: list[PhiSpan] = []
        for m in matches_at(self._title_re, text, at(positions, self._title_at)):
            title = m.group("t").lower()
            v, w = m.group("v"), m.group("w")
            strong = title in self._strong_titles or (
                title in self._dotted_titles and m.group("dot") is not None
            )
            if not strong and m.group("dot"):
                continue  # "... by the RN. SBP dropped": a period after a role ends a sentence
            if strong:
                ok = (
                    self.lex.is_name_word(v)
                    or (v.lower() in self.lex.last and v.lower() not in self.lex.plain_not_names)
                    or (titled(v) and w is not None and titled(w) and self.lex.is_name_word(w))
                )
            else:
                ok = self.lex.cued_name(v, rare=False)
            if not ok:
                continue
            begin = m.start("i") if m.group("i") else m.start("v")
            end = m.end("v")
            if w is not None and self._second_name(w):
                end = m.end("w")
            # a courtesy title makes it certain ("Mrs. Burns" is no burn); a role less so
            out.append(PhiSpan(begin, end, "NAME", CERTAIN_NAME if strong else 0.85))
            if title == "drs":
                out.extend(self._name_list(text, end))
        return out

    def _second_name(self, w: str) -> bool:
        """A second name word: capitalised in cased text, or a census or rare word."""
        lw = w.lower()
        if not self.lex.is_name_word(w) or lw in STOPWORDS:
            return False
        if titled(w):
            return True
        return (lw in self.lex.last or self.lex.rare(lw)) and self.lex.zipf.get(
            lw, 0.0
        ) < VERY_COMMON

    def _name_list(self, text: str, end: int) -> list[PhiSpan]:
        """More names joined by "and", "&" or commas after a plural cue ("drs X and Y")."""
        out: list[PhiSpan] = []
        while (m := _AND_NAME_RE.match(text, end)) is not None and self.lex.name_after(
            m.group("v")
        ):
            out.append(PhiSpan(m.start("v"), m.end("v"), "NAME", 0.85))
            end = m.end("v")
        return out

    def _relatives(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """Names after relations and contact words ("wife Ann", "son: Rob", "with Ann Lee")."""
        out: list[PhiSpan] = []
        for m in matches_at(self._rel_re, text, at(positions, self._rel_at)):
            cue = m.group("cue").lower()
            v, w = m.group("v"), m.group("w")
            lv = v.lower()
            if not self.lex.is_name_word(v):
                continue
            if cue in self._strong_cues:
                if lv in self.lex.first:
                    ok = lv not in self.lex.ambiguous_first or v[0].isupper() or cue in _FAMILY
                else:  # a separator ("son: X", "daughter-X") is stronger evidence
                    ok = self.lex.name_after(v, VERY_COMMON if m.group("sep") else COMMON)
            else:
                ok = lv in self.lex.first and titled(v) and lv not in self.lex.ambiguous_first
            if not ok:
                continue
            end = m.end("v")
            if w is not None and self.lex.is_name_word(w) and w.lower() not in STOPWORDS:
                lw = w.lower()
                if lw in self.lex.last or self.lex.rare(lw) or (titled(w) and titled(v)):
                    end = m.end("w")
            score = 0.85 if cue in self._strong_cues else 0.75
            out.append(PhiSpan(m.start("v"), end, "NAME", score))
            if cue in self._plural_cues:
                out.extend(self._name_list(text, end))
        return out

    def _initials(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """``X. Surname`` (an initial, a period and a surname), initial included."""
        out: list[PhiSpan] = []
        if ". " not in text and "." not in text:
            return out
        # a match starts at a capital letter that is a word by itself (finditer's matches)
        for m in match_at(_INITIAL_RE, text, initial_starts(text, positions)):
            v = m.group("v")
            lv = v.lower()
            if len(lv) < 3 or lv in self.lex.medical or not self.lex.is_name_word(v):
                continue
            initial = m.group("i")
            line_start = text.rfind("\n", 0, m.start()) + 1
            if initial in "SOAP" and not text[line_start : m.start()].strip():
                continue  # a SOAP heading: "S. pt sleeping", "A. sepsis"
            if initial in "RL" and lv not in self.lex.first and lv not in self.lex.last:
                continue  # right / left: "R. femoral line"
            known = lv in self.lex.first or lv in self.lex.last or self.lex.rare(lv)
            if known and (self.lex.zipf.get(lv, 0.0) < VERY_COMMON or lv in self.lex.common_first):
                out.append(PhiSpan(m.start(), m.end("v"), "NAME", 0.85))
        return out

    def _notified(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """One or two name words before "aware", "notified", "paged" ("Ann Quell aware")."""
        out: list[PhiSpan] = []
        for b0 in at(positions, self._notified_at):
            m = _BEFORE_CUE_RE.search(text, max(0, b0 - 40), b0)
            if m is None:
                continue
            last = m.group("w") or m.group("v")
            if not self.lex.cued_name(last):
                continue
            begin = m.start("w") if m.group("w") else m.start("v")
            if m.group("w") and self.lex.cued_name(m.group("v")):
                begin = m.start("v")
            out.append(PhiSpan(begin, m.end("w") if m.group("w") else m.end("v"), "NAME", 0.8))
        return out

    def _name_pairs(self, text: str, positions: dict[str, list[int]]) -> list[PhiSpan]:
        """A census first name and a following name word; common first names alone."""
        out: list[PhiSpan] = []
        for b0 in at(positions, self.lex.first):
            word = WORD_AT_RE.match(text, b0)
            if word is None:
                continue
            first = word.group()
            lf = first.lower()
            if lf in self.lex.ambiguous_first or not self.lex.is_name_word(first) or len(lf) < 3:
                continue
            if lf not in self.lex.common_first and not titled(first):
                continue
            pair = self._pair_re.match(text, b0)
            second = pair.group("v").split(None, 1)[1] if pair else ""
            ls = second.lower()
            surname = titled(second) or ls in self.lex.last or self.lex.rare(ls)
            if (
                pair
                and len(ls) >= 3
                and self.lex.is_name_word(second)
                and ls not in STOPWORDS
                and surname
            ):
                out.append(PhiSpan(pair.start("v"), pair.end("v"), "NAME", 0.75))
            elif lf in self.lex.common_first and len(lf) >= 4:
                out.append(PhiSpan(word.start(), word.end(), "NAME", 0.6))
        out.extend(self._rare_pairs(text))
        return out

    def _rare_pairs(self, text: str) -> list[PhiSpan]:
        """Two capitalised words in cased text, the first rare, the second a rare word or a
        less common census surname ("Radu Crosson"): a name nobody's list holds."""
        out: list[PhiSpan] = []
        if text.isupper() or text.islower():
            return out
        for m in _TITLED_PAIR_RE.finditer(text):
            first, second = m.group("a"), m.group("b")
            ls = second.lower()
            if not self.lex.rare(first.lower()) or not self.lex.is_name_word(second):
                continue
            if self.lex.rare(ls) or (ls in self.lex.last and self.lex.zipf.get(ls, 0.0) < COMMON):
                out.append(PhiSpan(m.start(), m.end(), "NAME", 0.75))
        return out


_WEAK_RELATION_CUES = frozenset(
    ["with", "and", "by", "to", "per", "pt", "patient", "called", "name"]
)

_FAMILY = frozenset(["wife", "husband", "son", "daughter", "dtr", "sister", "brother", "friend"])

_TITLED_PAIR_RE = re.compile(r"\b(?P<a>[A-Z][a-z'’-]*[a-z])[ \t]+(?P<b>[A-Z][a-z'’-]*[a-z])\b")

_AND_NAME_RE = re.compile(rf"[ \t]*(?:,|&|\band\b)[ \t]*(?P<v>{NAME_WORD})", re.I)

_INITIAL_RE = re.compile(r"(?<![\w'’&/.])(?P<i>[A-Z])\.[ \t]?(?P<v>[A-Z][A-Za-z'’-]*[A-Za-z])")


def initial_starts(text: str, positions: dict[str, list[int]]) -> list[int]:
    """Where ``_INITIAL_RE`` can match, in order: at a one-letter capital word."""
    out = [
        b
        for w, starts in positions.items()
        if len(w) == 1 and "a" <= w <= "z"
        for b in starts
        if "A" <= text[b] <= "Z"
    ]
    out.sort()
    return out


_NOT_LINK = r"(?!(?:made|was|were|is|are|been)\b)"

_BEFORE_CUE_RE = re.compile(
    rf"(?P<v>{NAME_WORD})(?:[ \t]+{_NOT_LINK}(?P<w>{NAME_WORD}))?[ \t]+"
    r"(?:(?:made|was|were|is|are|been)[ \t]+)?$",
    re.I,
)
