"""Tests, procedures and treatments as nurses chart them: "hr 88", "sats>96%", "a-line placed".

Vital signs, hemodynamic measures and labs are charted as short, often ambiguous words ("hr",
"co", "wedge", "bs"): a guarded word is a test only with a value after it, or a cue word next to
it ("monitor u/o", "his b/p", "ci stable"). A device with a placement or removal word next to it
is the procedure ("a-line placed", "place swan", "s/p picc"); a bare device is nothing.
The words live in ``rules/nursing.json`` ``ttp`` (general clinical knowledge).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from nlp.local.mention import TTP, Mention
from nlp.local.spans import SpanSet
from nlp.local.text import Normaliser, Words, positions

_LIST_WORDS = frozenset({"and", "&", "or"})
_TEMPERATURE_RE = re.compile(
    r"[ \t]*(?:max|m)?[ \t]*[:=-]?[ \t]*(?:9[5-9]|10[0-7]|3[5-9])(?:\.\d)?\b"
)
_UNIT_BEFORE_RE = re.compile(r"(?:/|\d[ \t]*|\bper[ \t]+)$")  # "cc/hr", "3 hr", "per hr"
_SIGN_BEFORE_RE = re.compile(r"(?<![\w+-])[+-]$")  # "+bs", "-bm": an exam sign, not a test


class NursingTtp:
    """Finds the tests, procedures and treatments of ``nursing.json`` ``ttp``.

    Args:
        rules: the parsed ``nursing.json``.
        normaliser: the word normaliser.
    """

    def __init__(self, rules: dict[str, Any], normaliser: Normaliser) -> None:
        key = normaliser.phrase_key
        word = normaliser.key
        cfg = rules["ttp"]
        self.words: dict[tuple[str, ...], tuple[str, str]] = {}
        for surface, (typ, guard) in cfg["words"].items():
            self.words.setdefault(key(surface), (str(typ), str(guard)))
        self.first = frozenset(k[0] for k in self.words if k)
        self.cue_before = frozenset(word(w) for w in cfg["cue_before"])
        self.cue_after = frozenset(word(w) for w in cfg["cue_after"])
        self.value_words = frozenset(word(w) for w in cfg["value_words"])
        self.cue_before_word = {
            key(w): frozenset(word(x) for x in ws) for w, ws in cfg["cue_before_word"].items()
        }
        self.not_after = {
            key(w): frozenset(word(x) for x in ws) for w, ws in cfg["not_after"].items()
        }
        self.not_before = {
            key(w): frozenset(word(x) for x in ws) for w, ws in cfg["not_before"].items()
        }
        self.unit_words = frozenset(key(w) for w in cfg["unit_words"])
        self.devices = frozenset(key(w) for w in cfg["devices"])
        self.device_first = frozenset(k[0] for k in self.devices)
        self.any_first = self.first | self.device_first
        self.device_verbs = frozenset(key(w) for w in cfg["device_verbs"])
        # first word -> words of the longest phrase it begins (words, devices, device verbs)
        self.longest: dict[str, int] = {}
        for k in [*self.words, *self.devices, *self.device_verbs]:
            if k:
                self.longest[k[0]] = max(self.longest.get(k[0], 1), len(k))
        self.device_verbs_before = frozenset(key(w) for w in cfg["device_verbs_before"])
        self.device_between = frozenset(word(w) for w in cfg["device_between"])
        self.not_before_devices = frozenset(word(w) for w in cfg["not_before_devices"])

    def apply(self, text: str, words: Words, found: list[Mention]) -> list[Mention]:
        """``found`` plus the tests, procedures and treatments no mention covers yet."""
        keys = words.keys
        at_any = positions(keys, self.any_first)
        if not at_any:
            return found
        at = [i for i in at_any if keys[i] in self.first]
        at_device = [i for i in at_any if keys[i] in self.device_first]
        hits = [*self._devices(words, at_device), *self._words(text, words, at)]
        if not hits:
            return found
        taken = SpanSet((m.begin, m.end) for m in found)
        out = list(found)
        last_end = -1
        for a, b, typ in sorted(hits, key=lambda h: (h[0], -h[1])):
            begin, end = words.starts[a], words.ends[b]
            if begin < last_end or taken.overlaps(begin, end):
                continue
            last_end = end
            out.append(Mention(begin, end, TTP, typ, 0.75, "nursing-ttp"))
        out.sort(key=lambda m: (m.begin, m.end))
        return out

    # ------------------------------------------------------------------ words
    def _match(
        self, keys: list[str], i: int, table: dict[tuple[str, ...], Any] | frozenset[Any]
    ) -> int:
        """Length of the longest phrase of ``table`` at word ``i`` (0: none)."""
        for n in range(min(self.longest.get(keys[i], 1), len(keys) - i), 0, -1):
            if tuple(keys[i : i + n]) in table:
                return n
        return 0

    def _words(self, text: str, words: Words, at: list[int]) -> Iterable[tuple[int, int, str]]:
        """Words of the table their guard lets through; a guarded word in a list after an
        accepted one is accepted too ("follow hct and k+", "check bun, creat")."""
        keys = words.keys
        previous = -9  # last word of the previous accepted test
        after = -1  # the word after the last phrase looked at
        for i in at:
            if i < after:
                continue
            n = self._match(keys, i, self.words)
            if not n:
                continue
            phrase = tuple(keys[i : i + n])
            typ, guard = self.words[phrase]
            last = i + n - 1
            after = last + 1
            listed = (i - previous == 2 and keys[i - 1] in _LIST_WORDS) or (
                i - previous == 1
                and words.brk[i]
                and "," in text[words.ends[i - 1] : words.starts[i]]
            )
            if listed or self._accept(text, words, i, last, phrase, guard):
                yield i, last, typ
                previous = last

    def _accept(
        self, text: str, words: Words, i: int, last: int, phrase: tuple[str, ...], guard: str
    ) -> bool:
        keys, brk = words.keys, words.brk
        before = keys[i - 1] if i > 0 and not brk[i] else ""
        after = keys[last + 1] if last + 1 < len(keys) and not brk[last + 1] else ""
        if before in self.not_after.get(phrase, ()) or after in self.not_before.get(phrase, ()):
            return False
        if guard == "free":
            return True
        head = text[max(0, words.starts[i] - 8) : words.starts[i]]
        if _SIGN_BEFORE_RE.search(head) or (
            phrase in self.unit_words and _UNIT_BEFORE_RE.search(head)
        ):
            return False  # "+bs", "75cc/hr", "3 hr"
        if guard == "temperature":
            return _TEMPERATURE_RE.match(text, words.ends[last]) is not None
        if self._value_after(text, words, last):
            return True
        if guard == "value":
            return False
        return (
            before in self.cue_before
            or before in self.cue_before_word.get(phrase, ())
            or after in self.cue_after
        )

    def _value_after(self, text: str, words: Words, last: int) -> bool:
        """A number after word ``last``, with at most three value words between."""
        keys = words.keys
        j = last + 1
        for _ in range(4):
            if j >= len(keys):
                return False
            gap = text[words.ends[j - 1] : words.starts[j]]
            if j == last + 1 and gap.startswith("."):
                gap = gap[1:]  # an abbreviation's period ("u.o. of 200")
            if "\n" in gap or ";" in gap or "," in gap or "." in gap.strip(" \t"):
                return False
            if keys[j][0].isdigit():
                return True
            if keys[j] not in self.value_words:
                return False
            j += 1
        return False

    # ------------------------------------------------------------------ devices
    def _devices(self, words: Words, at: list[int]) -> Iterable[tuple[int, int, str]]:
        """A device next to a placement or removal word: the procedure phrase."""
        keys, brk = words.keys, words.brk
        n = len(keys)
        for i in at:
            size = self._match(keys, i, self.devices)
            if not size:
                continue
            last = i + size - 1
            # after: "a-line placed", "sheaths were pulled", "ogt out"
            j = last + 1
            while j < n and j - last <= 3 and not brk[j]:
                verb = self._match(keys, j, self.device_verbs)
                if verb:
                    end = j + verb - 1
                    if end + 1 >= n or keys[end + 1] not in self.not_before_devices:
                        yield i, end, "PROCEDURE_NAME"  # not "insertion site"
                    break
                if keys[j] not in self.device_between:
                    break
                j += 1
            # before: "place swan", "removing pa line", "s/p picc"
            j = i - 1
            while j >= 0 and i - j <= 3 and not brk[j + 1]:
                if (keys[j],) in self.device_verbs_before:
                    yield j, last, "PROCEDURE_NAME"
                    break
                if j > 0 and tuple(keys[j - 1 : j + 1]) in self.device_verbs_before:
                    yield j - 1, last, "PROCEDURE_NAME"  # "s/p picc"
                    break
                if keys[j] not in self.device_between:
                    break
                j -= 1
