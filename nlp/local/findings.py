"""Body-system findings of nursing assessments: "abd distended", "urine amber", "sx for thick tan".

Nurses chart an assessment as a subject (a body part, an output, a suction) followed or
preceded by describing words; a describing word is a finding only when it is abnormal for
that subject ("dark urine", but "yellow urine" is normal; "cool extremities", but a cool room
is nothing). The groups live in ``rules/nursing.json`` ``systems`` (general clinical knowledge).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nlp.local.mention import MC, MED, Mention
from nlp.local.spans import SpanSet
from nlp.local.text import Normaliser, Words, positions

_MAX_GAP = 5  # words between a subject and its first abnormal word
_MAX_SCAN = 10  # words scanned after a subject
_MAX_PHRASE = 3  # longest subject, abnormal or neutral phrase, in words
NEGATED_SOURCE = "findings-neg"  # source of a finding that denies what it names ("nt")
_COUNT_RE = re.compile(r"q\d{1,2}(?:h|hr|hrs)?|x\d{0,2}|\d{1,2}")  # "q2h", "x4", "4"


@dataclass(frozen=True, slots=True)
class _Group:
    name: str
    link: str
    abnormal: dict[tuple[str, ...], str]  # phrase key -> link ("" = the group's)
    negated: dict[tuple[str, ...], str]
    neutral: frozenset[tuple[str, ...]]
    amounts: frozenset[tuple[str, ...]]
    before: bool


class SystemFindings:
    """Finds abnormal descriptions of body systems next to their subject.

    Args:
        rules: ``nursing.json`` (keys ``systems`` and ``system_between``).
        normaliser: the word normaliser (phrase keys of the configured words).
    """

    def __init__(self, rules: dict[str, Any], normaliser: Normaliser) -> None:
        key = normaliser.phrase_key
        self.between = frozenset(key(w) for w in rules["system_between"])
        self.groups: list[_Group] = []
        # subject phrase key -> groups it opens, in configuration order
        self.subjects: dict[tuple[str, ...], list[_Group]] = {}
        for name, g in rules["systems"].items():
            group = _Group(
                name,
                str(g["link"]),
                {key(w): str(link) for w, link in g["abnormal"].items()},
                {key(w): str(link) for w, link in g["negated"].items()},
                frozenset(key(w) for w in g["neutral"]),
                frozenset(key(w) for w in g.get("amounts", ())),
                bool(g["before"]),
            )
            self.groups.append(group)
            for s in g["subjects"]:
                opened = self.subjects.setdefault(key(s), [])
                if group not in opened:
                    opened.append(group)
        self.first = frozenset(k[0] for k in self.subjects)
        # first word -> words of the longest configured phrase it begins
        self.longest: dict[str, int] = {}
        phrases = [*self.between, *self.subjects]
        for g in self.groups:
            phrases += [*g.abnormal, *g.negated, *g.neutral]
        for k in phrases:
            if k:
                self.longest[k[0]] = max(self.longest.get(k[0], 1), len(k))
        self.every_subject = frozenset(self.subjects)

    def apply(self, text: str, words: Words, found: list[Mention]) -> list[Mention]:
        """``found`` plus the findings next to a subject (none overlapping a condition or drug)."""
        keys = words.keys
        at = positions(keys, self.first)
        if not at:
            return found
        taken = SpanSet((m.begin, m.end) for m in found if m.category in (MC, MED))
        hits: list[tuple[int, int, str, bool]] = []  # (first word, last word, link, negated)
        for i in at:
            for n in range(min(_MAX_PHRASE, len(keys) - i), 0, -1):
                groups = self.subjects.get(tuple(keys[i : i + n]))
                if groups is not None:
                    hits.extend(self._after(text, words, i + n, groups, taken))
                    hits.extend(self._before(text, words, i, i + n - 1, groups))
                    break
        if not hits:
            return found
        out = list(found)
        last_end = -1
        for a, b, link, negated in sorted(hits):
            begin, end = words.starts[a], words.ends[b]
            if begin < last_end or taken.overlaps(begin, end):
                continue
            last_end = end
            source = NEGATED_SOURCE if negated else "findings"
            out.append(Mention(begin, end, MC, "DX_NAME", 0.75, source, None, link))
        out.sort(key=lambda m: (m.begin, m.end))
        return out

    # ------------------------------------------------------------------ scanning
    def _phrase(
        self, keys: list[str], j: int, table: dict[tuple[str, ...], str]
    ) -> tuple[int, str] | None:
        """(length, link) of the longest phrase of ``table`` at word ``j``."""
        longest = self.longest.get(keys[j])
        if longest is None:
            return None
        for n in range(min(longest, len(keys) - j), 0, -1):
            link = table.get(tuple(keys[j : j + n]))
            if link is not None:
                return n, link
        return None

    def _neutral(self, keys: list[str], j: int, group: _Group) -> int:
        """Length of a neutral or linking phrase at ``j`` (0: none)."""
        longest = self.longest.get(keys[j])
        if longest is not None:
            for n in range(min(longest, len(keys) - j), 0, -1):
                k = tuple(keys[j : j + n])
                if k in group.neutral or k in self.between:
                    return n
        return 1 if _COUNT_RE.fullmatch(keys[j]) else 0  # "q2h", "x4", "x 2"

    def _hard_break(self, text: str, words: Words, j: int, soft_before: bool) -> bool:
        """A sentence or line break between word ``j - 1`` and word ``j``."""
        gap = text[words.ends[j - 1] : words.starts[j]]
        if "\n" in gap or ";" in gap or "(" in gap or ")" in gap:
            return True
        return "." in gap and not soft_before

    def _after(
        self, text: str, words: Words, j: int, groups: list[_Group], taken: SpanSet
    ) -> Iterable[tuple[int, int, str, bool]]:
        """Abnormal words after a subject ending before word ``j``.

        Abnormal words with only neutral words or commas between them make one finding
        ("thick, white, tan"); a linking word ("and", "with") or a word another mention
        covers ends it. An amount alone ("lg") before another finding is part of it, not one.
        Each negated word ("nt", "nd") is a finding of its own.
        """
        keys = words.keys
        n = len(keys)
        start = j
        for group in groups:
            j = start
            gap = 0
            soft = False  # the previous word may end with an abbreviation period ("amts.")
            runs: list[tuple[int, int, str]] = []
            run: tuple[int, int, str] | None = None  # first and last abnormal word, link
            while j < n and j - start < _MAX_SCAN and gap <= _MAX_GAP:
                if j > 0 and self._hard_break(text, words, j, soft):
                    break
                if taken.overlaps(words.starts[j], words.ends[j]):
                    # another mention ("guaiac pos"): this finding ends there
                    if run is not None:
                        runs.append(run)
                        run = None
                    j += 1
                    gap += 1
                    soft = True
                    continue
                neg = self._phrase(keys, j, group.negated)
                if neg is not None:
                    yield j, j + neg[0] - 1, neg[1] or group.link, True
                    j += neg[0]
                    gap = 0
                    soft = False
                    continue
                ab = self._phrase(keys, j, group.abnormal)
                if ab is not None:
                    last = j + ab[0] - 1
                    run = (run[0], last, run[2]) if run else (j, last, ab[1] or group.link)
                    j = last + 1
                    gap = 0
                    soft = True
                    continue
                skip = self._neutral(keys, j, group)
                if not skip:
                    break
                if run is not None and tuple(keys[j : j + skip]) not in group.neutral:
                    runs.append(run)  # a linking word ends the finding
                    run = None
                j += skip
                gap += skip
                soft = True
            if run is not None:
                runs.append(run)
            for x, (a, b, link) in enumerate(runs):
                amount_only = all((k,) in group.amounts for k in keys[a : b + 1])
                if not (amount_only and x + 1 < len(runs)):
                    yield a, b, link, False

    def _before(
        self, text: str, words: Words, i: int, last: int, groups: list[_Group]
    ) -> Iterable[tuple[int, int, str, bool]]:
        """Abnormal words right before a subject at words ``i..last`` ("thick tan secretions")."""
        keys = words.keys
        for group in groups:
            if not group.before:
                continue
            j = i
            leftmost: int | None = None
            link = group.link
            while j > 0 and i - j < 4:
                prev = tuple(keys[j - 1 : j])
                known = prev in group.abnormal or prev in group.neutral
                if self._hard_break(text, words, j, known and j < i):
                    break
                ab = group.abnormal.get(prev)
                if ab is None and j >= 2:
                    ab2 = group.abnormal.get(tuple(keys[j - 2 : j]))
                    if ab2 is not None:
                        j -= 2
                        leftmost, link = j, ab2 or group.link
                        continue
                if ab is not None:
                    j -= 1
                    leftmost, link = j, ab or group.link
                    continue
                if prev in group.neutral and prev not in self.every_subject:
                    j -= 1
                    continue
                break
            if leftmost is not None:
                yield leftmost, last, link, False
