"""Rule-based recognition: condition heads, drug, procedure and test stems, abbreviations."""

from __future__ import annotations

import bisect
import re
from collections.abc import Container, Sequence
from typing import Any

from nlp.local.abbrev import find_abbreviations, short_form_occurrences
from nlp.local.matcher import SpellIndex
from nlp.local.mention import ANAT, CLINICAL, MC, MED, TTP, Mention
from nlp.local.text import STOPWORDS, Normaliser, Words, word_frequency

# research compound codes such as FK506, LY274614, SSR103800 (letters then 3+ digits)
_CODE_NAME_RE = re.compile(r"[A-Z]{2,4}\d{3,6}[A-Z]?")
_UNIT_GRAMS = ("microgram", "milligram", "kilogram", "nanogram", "program", "diagram", "telegram")
_DRUG_SUFFIX_RE = re.compile(
    r"(?:pril|sartan|olol|alol|dipine|statin|azole|mycin|micin|cillin|cycline|floxacin|"
    r"oxacin|vir|mab|nib|parin|caine|azepam|zolam|triptan|setron|prazole|tidine|fibrate|"
    r"gliptin|glitazone|profen|platin|rubicin|taxel|dronate|lukast|terol|sone|olone|"
    r"semide|thiazide|oxetine|aline|afil|tropine|phylline|barbital|mustine|uracil|"
    r"trexate|amycin|idine|amide|oxine|zosin|terone|estradiol|zepine|peridol|azine|"
    r"onium|osine|oline|atine|arginine|cysteine|glutamate|aspartate|acetate|sulfate|sulphate|"
    r"chloride|phosphate|nitrate|carbonate|hydroxide|peroxide)$"
)


# what a word key says by itself (RuleRecognizer._classify): (skipped, kind, head, drug stem)
_Class = tuple[bool, tuple[str, str] | None, bool, bool]
_SKIP: _Class = (True, None, False, False)


class RuleRecognizer:
    """Condition, procedure, test and drug mentions the dictionary missed.

    Config (``rules/cues.json``): ``condition_heads``, ``standalone_conditions``,
    ``condition_suffixes``, ``condition_suffix_stop``, ``condition_modifiers``,
    ``procedure_suffixes``, ``test_suffixes``.

    Args:
        cues: The parsed ``cues.json``.
        normaliser: The word normaliser (keys of the configured words).
    """

    def __init__(self, cues: dict[str, Any], normaliser: Normaliser) -> None:
        word_key = normaliser.key
        self.heads = frozenset(word_key(w) for w in cues["condition_heads"])
        self.standalone = frozenset(word_key(w) for w in cues["standalone_conditions"])
        self.suffixes = tuple(cues["condition_suffixes"])
        self.suffix_stop = frozenset(cues["condition_suffix_stop"])
        self.modifiers = frozenset(
            k for w in cues["condition_modifiers"] for k in normaliser.phrase_key(w)
        )
        self.proc_suffixes = tuple(cues["procedure_suffixes"])
        self.test_suffixes = tuple(cues["test_suffixes"])
        self._classes: dict[str, _Class] = {}

    def conditions(self, text: str, words: Words, found: list[Mention]) -> list[Mention]:
        """Add mentions found by head nouns, condition suffixes, procedure/test/drug stems.

        A condition head ("failure", "-itis", "toxicity") extends left over modifiers
        ("acute renal failure"); dictionary conditions inside the new span are absorbed.
        """
        keys, brk, starts, ends = words.keys, words.brk, words.starts, words.ends
        covered = _coverage(found, starts)
        found.sort(key=lambda m: m.begin)
        begins = [m.begin for m in found]
        dropped: set[int] = set()  # indices into found absorbed by a longer rule span
        new: list[Mention] = []
        n = len(keys)
        classes = self._classes
        i = 0
        while i < n:
            k = keys[i]
            cls = classes.get(k)
            if cls is None:
                cls = self._classify(k)
            skip, kind, head, drug_stem = cls
            if skip or covered[i]:
                i += 1
                continue
            if kind is None:
                b0 = starts[i]
                if (drug_stem and not text[b0 + 1 : b0 + 2].isupper()) or (
                    _CODE_NAME_RE.fullmatch(text, b0, ends[i]) is not None
                ):
                    kind = (MED, "GENERIC_NAME")
                else:
                    i += 1
                    continue
            first = i
            if kind[0] == MC:
                j = i
                while j > 0 and j - 1 >= 0 and not brk[j] and i - j < 4:
                    prev = keys[j - 1]
                    if covered[j - 1] and _category_at(found, begins, starts[j - 1]) not in (
                        MC,
                        ANAT,
                        None,
                    ):
                        break
                    if (
                        prev in self.modifiers
                        or (
                            prev.isalpha()
                            and prev not in STOPWORDS
                            and len(prev) > 3
                            and (
                                prev.endswith(("al", "ic", "ous", "ive", "ary", "ar", "oid", "ed"))
                                or prev.endswith(self.suffixes)
                            )
                        )
                        or (prev.isdigit() and j >= 2 and keys[j - 2] == "type")
                        or (prev == "type")
                        or (
                            text[starts[j - 1]].isupper()
                            and prev not in STOPWORDS
                            and starts[j - 1] > 0
                            and text[starts[j - 1] - 2 : starts[j - 1]] != ". "
                            # a capitalised word is part of a name ("Crohn disease"), except
                            # in text written in capitals, where every word is
                            and not text[max(0, starts[j - 1] - 40) : ends[i] + 40].isupper()
                        )
                    ):
                        j -= 1
                    else:
                        break
                first = j
                if head and first == i and k not in self.standalone:
                    i += 1
                    continue
            b, e = starts[first], ends[i]
            # absorb dictionary conditions inside the new span
            lo = bisect.bisect_left(begins, b)
            hi = bisect.bisect_left(begins, e)
            for x in range(lo, hi):
                m = found[x]
                if m.end <= e and m.category in (MC, ANAT):
                    dropped.add(x)
            near = range(max(0, lo - 3), hi)
            if any(x not in dropped and found[x].begin < e and b < found[x].end for x in near):
                i += 1
                continue
            new.append(Mention(b, e, kind[0], kind[1], 0.75, "rule"))
            i += 1
        if not new and not dropped:
            return found
        out = [m for x, m in enumerate(found) if x not in dropped] + new
        out.sort(key=lambda m: m.begin)
        return out

    def _classify(self, k: str) -> _Class:
        """What a word key alone says (cached): skipped (short or numeric), the kind by head
        noun or suffix, head noun, drug-name stem; the note's text decides the rest."""
        if len(k) < 4 or (not k.isalpha() and not k[0].isalpha()):
            got: _Class = _SKIP
        else:
            kind: tuple[str, str] | None = None
            head = k in self.heads or k in self.standalone
            if (k.endswith(self.suffixes) and k not in self.suffix_stop and len(k) >= 6) or head:
                kind = (MC, "DX_NAME")
            elif k.endswith(self.proc_suffixes) and len(k) >= 8:
                kind = (TTP, "PROCEDURE_NAME")
            elif k.endswith(self.test_suffixes) and len(k) >= 8 and not k.endswith(_UNIT_GRAMS):
                kind = (TTP, "TEST_NAME")
            # a lower-case word with a drug-name stem (the note must not write it "hCG")
            drug_stem = len(k) >= 7 and _DRUG_SUFFIX_RE.search(k) is not None
            got = (False, kind, head, drug_stem)
        if len(self._classes) < 100_000:
            self._classes[k] = got
        return got

    def abbreviations(self, text: str, found: list[Mention]) -> list[Mention]:
        """A short form defined as "long form (SF)" takes the long form's category everywhere.

        The long form counts when a clinical mention covers at least half of it; occurrences
        of the short form replace whatever the dictionary said about them.
        """
        abbrevs = find_abbreviations(text)
        if not abbrevs:
            return found
        clinical = [m for m in found if m.category in CLINICAL]
        for ab in abbrevs:
            span = ab.long_end - ab.long_begin
            long_m = next(
                (
                    m
                    for m in clinical
                    if m.begin < ab.long_end
                    and ab.long_begin < m.end
                    and min(m.end, ab.long_end) - max(m.begin, ab.long_begin) >= span / 2
                ),
                None,
            )
            if long_m is None:
                continue
            occurrences = short_form_occurrences(text, ab.short)
            occ = set(occurrences)
            found = [m for m in found if (m.begin, m.end) not in occ]
            for b, e in occurrences:
                if any(m.begin < e and b < m.end for m in found):
                    continue
                found.append(
                    Mention(
                        b,
                        e,
                        long_m.category,
                        long_m.type,
                        0.85,
                        "abbrev",
                        long_m.code,
                        long_m.link or text[ab.long_begin : ab.long_end],
                    )
                )
        found.sort(key=lambda m: m.begin)
        return found


def _coverage(found: list[Mention], starts: list[int]) -> list[bool]:
    covered = [False] * len(starts)
    for m in found:
        i = bisect.bisect_left(starts, m.begin)
        while i < len(starts) and starts[i] < m.end:
            covered[i] = True
            i += 1
    return covered


def _category_at(found: list[Mention], begins: list[int], offset: int) -> str | None:
    """Category of the mention covering ``offset`` (``found`` sorted by begin)."""
    i = bisect.bisect_right(begins, offset) - 1
    for x in range(i, max(-1, i - 3), -1):
        m = found[x]
        if m.begin <= offset < m.end:
            return m.category
    return None


_ENGLISH_WORD = 3.0  # Zipf frequency of a common English word (once per million words)
_NUMBER_AFTER_RE = re.compile(r"[ \t]*\d")
_LUNG = "\x00lung"  # _kind() of a lung finding ("coarse", "diminished")


class NursingVocabulary:
    """Nursing-note vocabulary (``rules/nursing.json``): findings, adjectives, fluids, filters.

    * ``findings`` and ``irregular`` are dictionary terms (see :meth:`terms`), linked to the
      condition they name ("low uo" -> oliguria, "hypotensive" -> hypotension);
    * ``morphology`` turns an adjective or participle into a condition of the lexicon by its
      suffix ("tachycardic" -> tachycardia, "somnolent" -> somnolence), never for the words of
      ``morphology_stop`` (drug classes, ordinary participles);
    * ``lung_findings`` are findings after a lung word ("lungs coarse", "bs diminished");
    * ``medication_patterns`` find fluids and dosed electrolytes written as one token
      (".9ns", "d5.45ns", "20kcl");
    * ``instruction_words`` ("cough") after an ``instruction`` cue ("encouraged to", "able to")
      are an instruction or ability, not a symptom;
    * ``negated_findings`` / ``negated_irregular`` deny what they name ("afebrile").
    """

    def __init__(self, rules: dict[str, Any], normaliser: Normaliser) -> None:
        key = normaliser.phrase_key
        self.findings: dict[str, str] = dict(rules["findings"])
        self.irregular: dict[str, str] = dict(rules["irregular"])
        self.negated = frozenset(
            w.lower() for w in [*rules["negated_findings"], *rules["negated_irregular"]]
        )
        self.morphology = [(a, b) for a, b in rules["morphology"]]
        self.morph_stop = frozenset(rules["morphology_stop"]) | frozenset(self.irregular)
        self.instruction = [key(c) for c in rules["instruction"]]
        self.instruction_words = frozenset(normaliser.key(w) for w in rules["instruction_words"])
        self.lung_words = frozenset(k for w in rules["lung_words"] for k in key(w))
        self.lung_findings = frozenset(normaliser.key(w) for w in rules["lung_findings"])
        self.normaliser_key = normaliser.key
        self.phrase_key = normaliser.phrase_key
        self.lung_link = str(rules["lung_link"])
        self.header_words = frozenset(normaliser.key(w) for w in rules["header_words"])
        patterns = rules["medication_patterns"]
        self.pattern = re.compile("|".join(f"(?P<p{n}>{rx})" for n, (rx, _) in enumerate(patterns)))
        self.trigger = re.compile(rules["medication_trigger"])
        self.pattern_links = [str(link) for _, link in patterns]
        self._morph_cache: dict[str, str | None] = {}
        trends = rules["trends"]
        self.measures: dict[tuple[str, ...], str] = {
            key(m): str(g) for m, g in trends["measures"].items()
        }
        self.measure_first = frozenset(k[0] for k in self.measures)
        # first word -> (measure, group), longest first
        self.measures_by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for m, g in sorted(self.measures.items(), key=lambda mg: -len(mg[0])):
            self.measures_by_first.setdefault(m[0], []).append((m, g))
        self.directions: dict[str, str] = {}
        for direction in ("down", "up", "unstable"):
            for w in trends[direction]:
                self.directions[normaliser.key(w)] = direction
        self.between = frozenset(normaliser.key(w) for w in trends["between"])
        self.trend_links: dict[str, dict[str, str]] = trends["links"]
        self.trend_state = frozenset(normaliser.key(w) for w in trends["state"])
        self.worsening = {g: frozenset(ds) for g, ds in trends["worsening"].items()}
        self.range_words = frozenset(normaliser.key(w) for w in trends["range_words"])
        self.not_after = frozenset(normaliser.key(w) for w in trends["not_after"])
        self.trend_not_before = frozenset(normaliser.key(w) for w in trends["not_before"])
        self.not_before = {
            normaliser.key(w): frozenset(normaliser.key(x) for x in after)
            for w, after in rules["irregular_not_before"].items()
        }
        desc = rules["descriptions"]
        # target key -> (link, the words that make it abnormal: "dark urine"; yellow urine is not)
        self.targets: dict[str, tuple[str, frozenset[str]]] = {}
        for group in desc.values():
            words = frozenset(k for w in group["words"] for k in key(w))
            for t in group["targets"]:
                self.targets[normaliser.key(t)] = (str(group["link"]), words)
        self.drug_dose = re.compile(rules["drug_dose"], re.IGNORECASE)
        self.drug_dose_not = frozenset(rules["drug_dose_not"]) | STOPWORDS
        self.drug_cue_before = frozenset(normaliser.key(w) for w in rules["drug_cue_before"])
        self.drug_cue_after = frozenset(normaliser.key(w) for w in rules["drug_cue_after"])
        self._drug_cache: dict[str, str | None] = {}
        self._spell_cache: dict[str, str | None] = {}
        self._phrase_words: dict[str, bool] = {}
        self._phrase_drugs: Sequence[str] = ()

    def respell(self, words: Words, spell: SpellIndex, known: Container[str]) -> None:
        """Replace misspelt word keys in place ("pneumnia" -> "pneumonia"; cached per word).

        A key the lexicon knows (``known``) or shorter than five letters is never changed.
        """
        keys = words.keys
        cache = self._spell_cache
        for i, k in enumerate(keys):
            fixed = cache.get(k, "")
            if fixed == "":
                fixed = None if k in known or len(k) < 5 else spell.correct(k)
                if len(cache) < 100_000:
                    cache[k] = fixed
            if fixed is not None:
                keys[i] = fixed

    def spell_vocabulary(self) -> set[str]:
        """The one-word vocabulary of these rules that misspellings are corrected towards."""
        phrases = [*self.findings, *self.irregular]
        return {k for phrase in phrases for k in self.phrase_key(phrase)} | self.lung_findings

    def terms(self) -> list[tuple[str, str]]:
        """(surface, link) condition terms: findings and irregular adjectives."""
        return [*self.findings.items(), *self.irregular.items()]

    def is_negated(self, surface: str) -> bool:
        """True when a mention's text denies the condition it names ("afebrile", "guaiac neg")."""
        return surface.lower() in self.negated

    def _kind(self, word: str, conditions: frozenset[str]) -> str | None:
        """``_LUNG`` for a lung finding, the condition an adjective names, or None (cached)."""
        noun = None
        if word in self.lung_findings:
            noun = _LUNG
        elif word.isalpha() and word not in self.morph_stop and len(word) >= 6:
            for suffix, repl in self.morphology:
                if word.endswith(suffix):
                    cand = word[: len(word) - len(suffix)] + repl
                    if cand in conditions:
                        noun = cand
                        break
        if len(self._morph_cache) < 100_000:
            self._morph_cache[word] = noun
        return noun

    def apply(
        self,
        text: str,
        words: Words,
        found: list[Mention],
        conditions: frozenset[str],
        drugs: Sequence[str] = (),
    ) -> list[Mention]:
        """Add adjective, lung-finding, trend, description, truncated-drug and fluid mentions;
        drop instructions ("able to cough") and headers ("PAIN:").

        Args:
            conditions: single-word condition keys of the lexicon (morphology targets).
            drugs: sorted single-word drug keys of the lexicon (completions of "lido", "amiod").
        """
        keys, brk, starts, ends = words.keys, words.brk, words.starts, words.ends
        cache = self._morph_cache
        kinds = [cache.get(k, "") for k in keys]
        new: list[Mention] = []
        if set(kinds) != {None}:  # "" = not yet cached, None = nothing
            covered = _coverage(found, starts)
            for i, kind in enumerate(kinds):
                if kind == "":
                    kind = self._kind(keys[i], conditions)
                if kind is None or covered[i]:
                    continue
                if kind is _LUNG:
                    if self._after_lung_word(keys, brk, i):
                        new.append(
                            Mention(starts[i], ends[i], MC, "DX_NAME", 0.75, "findings", None,
                                    self.lung_link)
                        )  # fmt: skip
                    continue
                new.append(Mention(starts[i], ends[i], MC, "DX_NAME", 0.75, "morph", None, kind))
        out = [
            m
            for m in found
            if not self._instruction(words, m)
            and not self._header(text, m)
            and not self._not_before(text, words, m)
        ]
        out += new
        out = self._phrases(words, out, drugs, text)
        for b, e, n in self._fluids(text):
            if any(m.begin <= b and e <= m.end and m.category == MED for m in out):
                continue
            out = [m for m in out if not (m.begin < e and b < m.end)]
            out.append(
                Mention(b, e, MED, "GENERIC_NAME", 0.8, "nursing", None, self.pattern_links[n])
            )
        out.sort(key=lambda m: (m.begin, m.end))
        return out

    def _phrases(
        self, words: Words, found: list[Mention], drugs: Sequence[str], text: str
    ) -> list[Mention]:
        """Trends ("hct dropped"), descriptions ("thick tan secretions"), truncated drugs."""
        keys, brk, starts, ends = words.keys, words.brk, words.starts, words.ends
        n = len(keys)
        spans: list[tuple[int, int, str, str]] = []  # (first word, last word, category, link)
        if drugs is not self._phrase_drugs:
            self._phrase_drugs = drugs
            self._phrase_words.clear()
        relevant = self._phrase_words
        for i, k in enumerate(keys):
            here = relevant.get(k)
            if here is None:
                here = self._phrase_word(k, drugs)
            if not here:
                continue  # no measure, description target or drug completion starts here
            hit = self._trend(text, words, i) if k in self.measure_first else None
            if hit is not None:
                first, last, m_first, m_last, worse = hit
                if worse:
                    spans.append((first, last, MC, ""))
                else:  # an improvement or a range of values: the measure is a test
                    spans.append((m_first, m_last, TTP, ""))
            elif k in self.targets:
                j = i
                link, allowed = self.targets[k]
                while j > 0 and i - j < 3 and not brk[j] and keys[j - 1] in allowed:
                    j -= 1
                if j < i:
                    spans.append((j, i, MC, link))
            elif (
                drugs
                and len(k) >= 4
                and k not in self.drug_dose_not
                and k.isalpha()
                and (full := self._completion(k, drugs)) is not None
                and (self.drug_dose.match(text, ends[i]) or self._drug_cue(words, i))
            ):
                spans.append((i, i, MED, full))
        if not spans:
            return found
        out = found
        for first, last, category, link in spans:
            b, e = starts[first], ends[min(last, n - 1)]
            if category == TTP:
                if not any(m.begin < e and b < m.end for m in out):
                    out.append(Mention(b, e, TTP, "TEST_NAME", 0.75, "trend"))
                continue
            if any(
                m.begin < e
                and b < m.end
                and m.category in (MC, MED)
                and not b <= m.begin < m.end <= e
                for m in out
            ):
                continue  # only what the new span contains ("tan secretions") is replaced
            if category == MC and not link:
                link = self._trend_link(keys, first, last)
            out = [m for m in out if not (m.begin < e and b < m.end)]
            typ, source = ("DX_NAME", "trend") if category == MC else ("GENERIC_NAME", "nursing")
            out.append(Mention(b, e, category, typ, 0.75, source, None, link))
        return out

    def _phrase_word(self, k: str, drugs: Sequence[str]) -> bool:
        """Can a phrase of :meth:`_phrases` start at word key ``k``? (cached per key)"""
        got = (
            k in self.measure_first
            or k in self.targets
            or (
                bool(drugs)
                and len(k) >= 4
                and k not in self.drug_dose_not
                and k.isalpha()
                and self._completion(k, drugs) is not None
            )
        )
        if len(self._phrase_words) < 100_000:
            self._phrase_words[k] = got
        return got

    def _trend(self, text: str, words: Words, i: int) -> tuple[int, int, int, int, bool] | None:
        """A measure at word ``i`` with a trend word next to it.

        Returns:
            (first word, last word, first and last word of the measure, worsening), or None.
            Not worsening: an improvement ("creat down", "bp up") or a range of values
            ("sats low 90s"), where the measure is a test, not a finding.
        """
        keys, brk = words.keys, words.brk
        n = len(keys)
        last = -1
        group = ""
        for m, g in self.measures_by_first[keys[i]]:  # longest first
            if tuple(keys[i : i + len(m)]) == m and not any(brk[i + 1 : i + len(m)]):
                last, group = i + len(m) - 1, g
                break
        if last < 0:
            return None
        # after: "bp low", "bp still low", "hct trending down", "bp continues to be low"
        j = last + 1
        for _ in range(4):
            if j >= n or brk[j]:
                break
            if keys[j] in self.directions:
                if keys[j] == "up" and keys[j - 1] in self.not_after:
                    return None  # "sat up in chair"
                if j + 1 < n and keys[j + 1] in self.trend_not_before:
                    return None
                return i, j, i, last, self._worse(text, words, j, group)
            if keys[j] not in self.between:
                break
            j += 1
        # before: "low bp", "low grade temp", "drop in sats", "dropped his b/p"
        j = i - 1
        for _ in range(3):
            if j < 0 or brk[j + 1]:
                break
            if keys[j] in self.directions:
                if keys[j] == "up" and j > 0 and keys[j - 1] in self.not_after:
                    return None  # "follow up hct"
                if last + 1 < n and keys[last + 1] in self.trend_not_before:
                    return None  # "low sodium diet"
                return j, last, i, last, self._worse(text, words, j, group)
            if keys[j] not in self.between:
                break
            j -= 1
        return None

    def _worse(self, text: str, words: Words, j: int, group: str) -> bool:
        """Is the trend word at ``j`` an abnormal state or a change for the worse?"""
        word = words.keys[j]
        if word in self.range_words and _NUMBER_AFTER_RE.match(text, words.ends[j]):
            return False  # "sats low 90's": a range of values
        if word in self.trend_state:
            return True
        direction = self.directions[word]
        return direction in self.worsening.get(group, frozenset(("up", "down", "unstable")))

    def _drug_cue(self, words: Words, i: int) -> bool:
        """A drug word next to a truncated name that is no English word ("started on amiod",
        "lido off"); English words ("vent", "tele") need a dose after them."""
        keys, brk = words.keys, words.brk
        cue = (i > 0 and not brk[i] and keys[i - 1] in self.drug_cue_before) or (
            i + 1 < len(keys) and not brk[i + 1] and keys[i + 1] in self.drug_cue_after
        )
        return cue and word_frequency(keys[i]) < _ENGLISH_WORD

    def _trend_link(self, keys: list[str], first: int, last: int) -> str:
        group = next(
            (g for m, g in self.measures.items() if m[0] in keys[first : last + 1]), "other"
        )
        words = keys[first : last + 1]
        direction = next((self.directions[k] for k in words if k in self.directions), "down")
        if "grade" in words:  # "low grade temp": a low-grade fever
            direction = "up"
        return self.trend_links[group][direction]

    def _completion(self, word: str, drugs: Sequence[str]) -> str | None:
        """The drug a truncated word begins ("amiod" -> amiodarone); the word if not unique."""
        if word in self._drug_cache:
            return self._drug_cache[word]
        lo = bisect.bisect_left(drugs, word)
        hi = bisect.bisect_left(drugs, word + "\uffff")
        names = [d for d in drugs[lo:hi] if d != word]
        got = None if not names else (names[0] if len(names) == 1 else word)
        if lo < hi and drugs[lo] == word:
            got = None  # a whole name ("salmeterol") is not the start of another ("salmeterolum")
        if len(self._drug_cache) < 100_000:
            self._drug_cache[word] = got
        return got

    def _fluids(self, text: str) -> list[tuple[int, int, int]]:
        """(begin, end, pattern index) of the medication patterns, searched near a trigger."""
        low = text.lower()
        out: dict[tuple[int, int], int] = {}
        for t in self.trigger.finditer(low):
            lo = max(0, t.start() - 16)
            for hit in self.pattern.finditer(low, lo, t.end() + 4):
                if hit.end() >= t.end():
                    out[hit.span()] = int((hit.lastgroup or "p0")[1:])
        return [(b, e, n) for (b, e), n in sorted(out.items())]

    def _header(self, text: str, m: Mention) -> bool:
        """A condition word alone at a line start, followed by a colon ("PAIN:")."""
        if m.category != MC or not text.startswith(":", m.end):
            return False
        line = text.rfind("\n", 0, m.begin) + 1
        if text[line : m.begin].strip(" \t*-#"):
            return False
        return self.normaliser_key(text[m.begin : m.end]) in self.header_words

    def _not_before(self, text: str, words: Words, m: Mention) -> bool:
        """An adjective followed by a word that makes it mean something else ("anxious to")."""
        if m.category != MC or self.normaliser_key(text[m.begin : m.end]) not in self.not_before:
            return False
        i = bisect.bisect_left(words.starts, m.begin)
        if i + 1 >= len(words.keys) or words.ends[i] != m.end:
            return False
        after = self.not_before.get(words.keys[i])
        return after is not None and words.keys[i + 1] in after and not words.brk[i + 1]

    def _after_lung_word(self, keys: list[str], brk: list[bool], i: int) -> bool:
        j = i
        while j > 0 and i - j < 4 and not brk[j]:
            j -= 1
            if keys[j] in self.lung_words:
                return True
        return False

    def _instruction(self, words: Words, m: Mention) -> bool:
        if m.category != MC:
            return False
        i = bisect.bisect_left(words.starts, m.begin)
        if i >= len(words.keys) or words.keys[i] not in self.instruction_words:
            return False
        for cue in self.instruction:
            n = len(cue)
            if (
                i >= n
                and tuple(words.keys[i - n : i]) == cue
                and not any(words.brk[i - n + 1 : i + 1])
            ):
                return True
        return False
