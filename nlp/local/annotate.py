"""The annotator: dictionary + rules + ConText + sections -> mentions with attributes and traits."""

from __future__ import annotations

import bisect
import contextlib
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.local.abbrev import SHORTFORM, ShortForms, load_shortforms
from nlp.local.attributes import (
    MedicationAttributes,
    test_value,
    time_expressions,
    type_mass_amounts,
)
from nlp.local.context import FastContext, without_spaces
from nlp.local.findings import NEGATED_SOURCE, SystemFindings
from nlp.local.matcher import Entry, SpellIndex, TermLike, TermMatcher
from nlp.local.meaning import Meaning, Prepared, is_duration
from nlp.local.measures import NursingTtp
from nlp.local.medcombo import combine_medications, drug_dose_follows
from nlp.local.mention import ANAT, BES, CLINICAL, MC, MED, PHI, TTP, Attr, Mention
from nlp.local.phi import PhiDetector
from nlp.local.phi_words import CERTAIN_NAME
from nlp.local.rulener import NursingVocabulary, RuleRecognizer
from nlp.local.sections import Sectionizer
from nlp.local.spans import SpanSet
from nlp.local.stopwatch import Stopwatch
from nlp.local.text import Normaliser, Words, load_rules, word_frequency
from nlp.local.traits import context_traits

_PRIORITY = {MC: 0, MED: 1, TTP: 2, ANAT: 3}
_TIME_TYPE = {
    "DX_NAME": "TIME_TO_DX_NAME",
    "GENERIC_NAME": "TIME_TO_MEDICATION_NAME",
    "BRAND_NAME": "TIME_TO_MEDICATION_NAME",
    "TEST_NAME": "TIME_TO_TEST_NAME",
    "PROCEDURE_NAME": "TIME_TO_PROCEDURE_NAME",
    "TREATMENT_NAME": "TIME_TO_TREATMENT_NAME",
}


class Annotator:
    """Finds every Comprehend category in a note (pure: text and token arrays in, mentions out).

    Args:
        terms: Lexicon terms (``nlp.local.lexicon.Term`` or anything with the same fields).
        tokenize: The pipeline tokenizer as a function (for ConText phrase literals).
        key: Token key for ConText (see :class:`FastContext`), e.g. spaCy's string hash.
        matcher_cache: File caching the compiled dictionary trie; its name must change with
            the lexicon and the rules (see ``LocalEngine.from_assets``).
    """

    def __init__(
        self,
        terms: Iterable[TermLike],
        tokenize: Callable[[str], list[str]],
        key: Callable[[str], Hashable] | None = None,
        matcher_cache: Path | None = None,
    ) -> None:
        self.normaliser = Normaliser.default()
        cues = load_rules("cues.json")
        norm = load_rules("normalise.json")
        nursing = load_rules("nursing.json")
        self.vocab = NursingVocabulary(nursing, self.normaliser)
        self.findings = SystemFindings(nursing, self.normaliser)
        self.ttp = NursingTtp(nursing, self.normaliser)
        self.shortforms = ShortForms(
            load_shortforms(),
            nursing["shortform_context"],
            frozenset(cues["anatomy"]) | frozenset(cues["condition_modifiers"]),
        )
        self.matcher = TermMatcher(self.normaliser)
        if matcher_cache is None or not self.matcher.load(matcher_cache):
            self.matcher.add(terms)
            self.matcher.add(_cue_terms(cues, norm), links=norm["abbreviations"])
            vocab_terms, links = _vocab_terms(self.vocab, self.shortforms)
            self.matcher.add(vocab_terms, links=links, min_chars=1)
            self.matcher.finalise()
            if matcher_cache is not None:
                with contextlib.suppress(OSError):
                    self.matcher.save(matcher_cache)
        self.anatomy = TermMatcher(self.normaliser)
        self.anatomy.add(_Term(t, ANAT, "SYSTEM_ORGAN_SITE", "cues") for t in cues["anatomy"])
        self.anatomy.finalise()
        self.rules = RuleRecognizer(cues, self.normaliser)
        self.symptom_words = frozenset(self.normaliser.phrase_key(w) for w in cues["symptom_words"])
        self.sign_words = frozenset(self.normaliser.phrase_key(w) for w in cues["sign_words"])
        # sign and symptom words that also name a diagnosis ("history of hypertension")
        self.finding_diagnoses = frozenset(
            self.normaliser.phrase_key(w) for w in cues["finding_diagnoses"]
        )
        self.duration_units = frozenset(cues["duration_units"])
        self.directions = frozenset(cues["directions"])
        self.acuity = frozenset(cues["acuity"])
        self._cues: dict[tuple[str, ...], str] = {}
        for trait, name in (
            ("DIAGNOSIS", "diagnosis_cues"),
            ("SIGN", "sign_cues"),
            ("SYMPTOM", "symptom_cues"),
        ):
            for cue in cues[name]:
                self._cues[self.normaliser.phrase_key(cue)] = trait
        self._cue_first = frozenset(k[0] for k in self._cues if k)
        self.med_attrs = MedicationAttributes()
        self.sections = Sectionizer()
        self.meaning = Meaning(self.sections, self.normaliser)
        self.context = FastContext.clinical_rules(tokenize, key)
        self.phi = PhiDetector(frozenset(self._single_word_keys()))
        self.condition_keys = frozenset(
            k
            for k, v in self.matcher._root.items()
            if any(e.category == MC and e.source != "abbrev" for e in v.get("", ()))
        )
        self.known_keys = frozenset(self.matcher._root)
        self.drug_keys = sorted(
            k
            for k, v in self.matcher._root.items()
            if len(k) >= 5 and k.isalpha() and any(e.category == MED for e in v.get("", ()))
        )
        # misspellings are corrected towards one-word conditions, nursing words and drug names,
        # never from an English word ("moving" stays); long condition words also over two edits
        targets = self.condition_keys | self.vocab.spell_vocabulary()
        self.spell = SpellIndex(
            targets, far=targets, drugs=self.drug_keys, frequency=word_frequency
        )
        # CPU time per stage (docref-nlp bench --components); off: a lap is one test
        self.stopwatch = Stopwatch()

    def _single_word_keys(self) -> set[str]:
        return {k for k, v in self.matcher._root.items() if "" in v and len(k) > 3}

    # ------------------------------------------------------------------ main entry
    def annotate(
        self,
        text: str,
        lowers: Sequence[Hashable],
        token_idx: Sequence[int],
        sent_tokens: Sequence[int],
    ) -> list[Mention]:
        """Mentions of ``text`` (entities with attributes, ConText categories, cue traits).

        Args:
            text: The note.
            lowers: Lower-case token strings of the pipeline's tokenization.
            token_idx: Character offset of each token.
            sent_tokens: Token indices where sentences start.
        """
        watch = self.stopwatch  # started by the caller (pipeline.annotate_text)
        words = self.normaliser.words(text)
        watch.lap("word splitting")
        self.vocab.respell(words, self.spell, self.known_keys)
        mentions = self._dictionary(text, words)
        watch.lap("dictionary")
        mentions = self.rules.conditions(text, words, mentions)
        mentions = self.vocab.apply(text, words, mentions, self.condition_keys, self.drug_keys)
        mentions = self.findings.apply(text, words, mentions)
        mentions = self.ttp.apply(text, words, mentions)
        mentions = self.rules.abbreviations(text, mentions)
        watch.lap("rules and nursing vocabulary")
        # clinical meaning (nlp.local.meaning): headers out, behaviours and allergies in
        mentions, prepared = self.meaning.prepare(text, words, mentions, self.sections.find(text))
        watch.lap("sections, social, allergies")
        anatomy = [
            Mention(m.begin, m.end, ANAT, "SYSTEM_ORGAN_SITE", 0.8, "cues")
            for m in self.anatomy.find(text, words)
            if not prepared.headers.overlaps(m.begin, m.end)
        ]
        sent_chars = [token_idx[i] for i in sent_tokens] if token_idx else [0]
        self._attach_anatomy(text, mentions, anatomy)
        watch.lap("anatomy")
        self._medication_attributes(text, mentions, sent_chars)
        mentions = combine_medications(text, mentions)
        self._test_values(text, mentions)
        self._time_expressions(text, words, mentions, sent_chars)
        watch.lap("attributes")
        self._context(text, words, mentions, lowers, token_idx, sent_tokens, prepared)
        self._negative_words(text, mentions)
        self.meaning.finish(text, mentions, prepared)
        watch.lap("ConText and traits")
        phi = self._phi(text, mentions, words)
        watch.lap("PHI")
        out = mentions + [a for a in anatomy if a.score > 0] + phi
        out.sort(key=lambda m: (m.begin, m.end))
        watch.lap("annotator (rest)")
        return out

    # ------------------------------------------------------------------ entities
    def _dictionary(self, text: str, words: Words) -> list[Mention]:
        out: list[Mention] = []
        starts = words.starts
        for m in self.matcher.find(text, words):
            entries = m.entries
            if (
                entries[-1].category == SHORTFORM
                and len(entries) > 1
                and not self.shortforms.is_form(text[m.begin : m.end])
            ):
                entries = entries[:-1]  # "steroid": the lexicon's, not the form "steroids"
            if entries[-1].category == SHORTFORM:  # added last: always last of its node
                r = self.shortforms.resolve(text, m.begin, m.end)
                if r is not None:
                    source = "shortform-neg" if r.negated else "shortform"
                    out.append(
                        Mention(m.begin, m.end, r.category, r.type, 0.8, source, None, r.link)
                    )
                continue
            entry = _choose(entries, text, m.begin, m.end)
            if entry.category == ANAT:
                continue
            if (
                entry.type == "TEST_NAME"
                and entry.source == "tests"
                and m.end - m.begin <= 3
                and (
                    test_value(text, m.end)[0] is None
                    or _DIGIT_BEFORE_RE.search(text, max(0, m.begin - 4), m.begin)
                )
            ):
                continue
            score = 0.95 if entry.source != "rule" else 0.8
            out.append(
                Mention(
                    m.begin,
                    m.end,
                    entry.category,
                    entry.type,
                    score,
                    entry.source,
                    entry.code,
                    entry.link,
                )
            )
        del starts
        return out

    # ------------------------------------------------------------------ attributes
    def _attach_anatomy(self, text: str, mentions: list[Mention], anatomy: list[Mention]) -> None:
        conditions = [m for m in mentions if m.category == MC]
        cond_begins = [m.begin for m in conditions]
        non_mc = SpanSet((m.begin, m.end) for m in mentions if m.category != MC)
        for a in anatomy:
            direction = _word_before(text, a.begin)
            owner = None
            k = bisect.bisect_right(cond_begins, a.begin)
            near = conditions[max(0, k - 2) : k + 2]
            for m in near:
                if m.begin <= a.begin and a.end <= m.end:
                    owner = m
                    break
            if owner is None:
                for m in near:
                    gap = text[a.end : m.begin] if a.end <= m.begin else text[m.end : a.begin]
                    if len(gap) <= 8 and not any(c in gap for c in ",.;:\n"):
                        owner = m
                        break
            if non_mc.overlaps(a.begin, a.end):
                a.score = 0.0
                continue
            if owner is not None:
                owner.attributes.append(
                    Attr(a.begin, a.end, "SYSTEM_ORGAN_SITE", ANAT, "SYSTEM_ORGAN_SITE", 0.8, 0.9)
                )
                a.score = 0.0
            elif direction is not None and direction[2].lower() in self.directions:
                a.attributes.append(
                    Attr(direction[0], direction[1], "DIRECTION", ANAT, "DIRECTION", 0.85, 0.95)
                )
        for m in mentions:
            if m.category != MC:
                continue
            before = _word_before(text, m.begin)
            if before is not None:
                w = before[2].lower()
                if w in self.acuity:
                    m.attributes.append(
                        Attr(before[0], before[1], "ACUITY", MC, "ACUITY", 0.85, 0.95)
                    )
                elif w in self.directions:
                    m.attributes.append(
                        Attr(before[0], before[1], "DIRECTION", MC, "DIRECTION", 0.85, 0.95)
                    )
            first = _WORD_RE.match(text, m.begin, m.end)
            if first is not None and first.group().lower() in self.acuity:
                m.attributes.append(
                    Attr(first.start(), first.end(), "ACUITY", MC, "ACUITY", 0.8, 0.95)
                )

    def _medication_attributes(self, text: str, mentions: list[Mention], sents: list[int]) -> None:
        meds = [m for m in mentions if m.category == MED]
        if not meds:
            return
        others = SpanSet((m.begin, m.end) for m in mentions if m.category != MED)
        for idx, med in enumerate(meds):
            s_end = _sentence_end(sents, med.begin, len(text))
            s_begin = sents[max(0, bisect.bisect_right(sents, med.begin) - 1)]
            limit = min(med.end + self.med_attrs.window, s_end)
            if idx + 1 < len(meds):
                limit = min(limit, meds[idx + 1].begin)
            low = max(med.begin - self.med_attrs.window_before, s_begin)
            if idx > 0:
                low = max(low, meds[idx - 1].end)
            hits = self.med_attrs.find(text, low, med.begin) + self.med_attrs.find(
                text, med.end, limit
            )
            chosen = [
                h
                for h in hits
                if not others.overlaps(h.begin, h.end)
                and (h.begin >= med.end or not _PUNCT_RE.search(text, h.end, med.begin))
            ]
            for h in type_mass_amounts(chosen):
                dist = h.begin - med.end if h.begin >= med.end else med.begin - h.end
                rel = max(0.5, 0.99 - dist / 400)
                med.attributes.append(Attr(h.begin, h.end, h.type, MED, h.type, 0.9, rel))

    def _test_values(self, text: str, mentions: list[Mention]) -> None:
        taken = SpanSet((m.begin, m.end) for m in mentions)
        for m in mentions:
            if m.category != TTP or m.type != "TEST_NAME":
                continue
            val, unit = test_value(text, m.end)
            if val is None:
                continue
            if taken.overlaps(val.begin, val.end):
                continue
            m.attributes.append(
                Attr(val.begin, val.end, "TEST_VALUE", TTP, "TEST_VALUE", 0.9, 0.95)
            )
            if unit is not None:
                m.attributes.append(
                    Attr(unit.begin, unit.end, "TEST_UNIT", TTP, "TEST_UNIT", 0.9, 0.95)
                )

    def _time_expressions(
        self, text: str, words: Words, mentions: list[Mention], sents: list[int]
    ) -> None:
        times = time_expressions(text, words.starts, words.keys)
        if not times:
            return
        clinical = [m for m in mentions if m.category in CLINICAL]
        clinical_begins = [m.begin for m in clinical]
        taken = SpanSet((m.begin, m.end) for m in mentions)
        for t in times:
            if taken.overlaps(t.begin, t.end):
                continue
            si = bisect.bisect_right(sents, t.begin) - 1
            s_begin = sents[si] if si >= 0 else 0
            s_end = sents[si + 1] if si + 1 < len(sents) else len(text)
            best: Mention | None = None
            best_d = 10**9
            lo = bisect.bisect_left(clinical_begins, s_begin)
            hi = bisect.bisect_left(clinical_begins, s_end)
            for m in clinical[lo:hi]:
                if m.end > s_end:
                    continue
                d = t.begin - m.end if t.begin >= m.end else m.begin - t.end
                if d < best_d:
                    best, best_d = m, d
            if best is None:
                continue
            best.attributes.append(
                Attr(
                    t.begin,
                    t.end,
                    _TIME_TYPE.get(best.type, "TIME_TO_DX_NAME"),
                    "TIME_EXPRESSION",
                    "OVERLAP",
                    0.8,
                    max(0.5, 0.95 - best_d / 400),
                )
            )

    # ------------------------------------------------------------------ context, cues
    def _context(
        self,
        text: str,
        words: Words,
        mentions: list[Mention],
        lowers: Sequence[Hashable],
        token_idx: Sequence[int],
        sent_tokens: Sequence[int],
        prepared: Prepared,
    ) -> None:
        clinical = [m for m in mentions if m.category in CLINICAL or m.category == BES]
        if not clinical:
            return
        lowers, token_idx, sent_tokens = without_spaces(text, lowers, token_idx, sent_tokens)
        targets = []
        n = len(token_idx)
        for m in clinical:
            t0 = max(0, bisect.bisect_right(token_idx, m.begin) - 1)
            t1 = bisect.bisect_left(token_idx, m.end)
            targets.append((t0, max(t1, t0 + 1) if n else t0 + 1))
        labels = [m.category for m in clinical]
        cats = (
            self.context.categories(lowers, sent_tokens, targets, labels)
            if n
            else [set()] * len(clinical)
        )
        sections = prepared.sections
        sec_starts = [s.begin for s in sections]
        for m, c in zip(clinical, cats, strict=True):
            m.context = set(c)
            sec = Sectionizer.at(sections, sec_starts, m.begin) if sections else None
            if sec is not None:
                implied = self.sections.context.get(sec.category)
                if implied:
                    m.context.add(implied)
            if m.category == MC:
                m.cue_trait = self._cue_trait(text, words, m, sec.category if sec else None)
            for trait in context_traits(m.context):
                m.traits[trait] = 0.85
            if m.cue_trait:
                m.traits[m.cue_trait] = 0.7

    def _cue_trait(self, text: str, words: Words, m: Mention, section: str | None) -> str | None:
        keys, brk = words.keys, words.brk
        i = bisect.bisect_left(words.starts, m.begin)
        j = i - 1
        cue_first = self._cue_first
        trait: str | None = None
        while j >= 0 and i - j <= 10:
            if keys[j] in cue_first:
                for n in (3, 2, 1):
                    trait = self._cues.get(tuple(keys[j : j + n])) if j + n <= i else None
                    if trait is not None:
                        break
            if trait is not None or (brk[j] and j < i):
                break
            j -= 1
        key = self.normaliser.phrase_key(text[m.begin : m.end])
        if trait == "DIAGNOSIS" and j > 0 and keys[j - 1] in self.duration_units:
            return self._word_kind(key)  # "a 3-day history of X": X is current, its own kind
        if trait is None and section is not None:
            trait = self.sections.traits.get(section)
        if trait is None:
            return self._word_kind(key)
        if trait == "DIAGNOSIS" and key not in self.finding_diagnoses:
            return self._word_kind(key) or trait  # a sign or symptom stays one
        return trait

    def _word_kind(self, key: tuple[str, ...]) -> str | None:
        """SYMPTOM or SIGN for the sign and symptom words (``cues.json``), else None."""
        if key in self.symptom_words or (key and key[-1] in ("pain", "ache")):
            return "SYMPTOM"
        if key in self.sign_words:
            return "SIGN"
        return None

    def _negative_words(self, text: str, mentions: list[Mention]) -> None:
        """Words that deny what they name ("afebrile", "guaiac neg") carry NEGATION."""
        for m in mentions:
            if m.source in ("shortform-neg", NEGATED_SOURCE) or (
                m.category == MC and self.vocab.is_negated(text[m.begin : m.end])
            ):
                m.traits["NEGATION"] = 0.9

    def _phi(self, text: str, mentions: list[Mention], words: Words | None = None) -> list[Mention]:
        out: list[Mention] = []
        taken = SpanSet((m.begin, m.end) for m in mentions)
        last_end = -1
        for h in self.phi.find(text, words):  # non-overlapping, in order
            # names and guessed places (gazetteer, abbreviations) yield to clinical mentions,
            # except a name after a courtesy title (CERTAIN_NAME: "Mrs. Burns")
            weak = (h.type == "NAME" and h.score < CERTAIN_NAME) or (
                h.type == "ADDRESS" and h.score <= 0.72
            )
            if weak and taken.overlaps(h.begin, h.end):
                continue
            if h.type == "AGE" and is_duration(text, h.begin, h.end):
                continue  # "quit 10 years ago": a duration (nlp.local.meaning)
            if h.begin < last_end:
                continue
            out.append(Mention(h.begin, h.end, PHI, h.type, h.score, "phi"))
            last_end = h.end
        if out:
            phi_spans = SpanSet((p.begin, p.end) for p in out)
            for m in mentions:
                if m.attributes:
                    m.attributes = [
                        a
                        for a in m.attributes
                        if a.category == "TIME_EXPRESSION" or not phi_spans.overlaps(a.begin, a.end)
                    ]
            # clinical mentions under non-name PHI (dates, phones) or a titled name are dropped
            hard = SpanSet(
                (p.begin, p.end) for p in out if p.type != "NAME" or p.score >= CERTAIN_NAME
            )
            if len(hard):
                mentions[:] = [m for m in mentions if not hard.overlaps(m.begin, m.end)]
        return out


@dataclass(frozen=True, slots=True)
class _Term:
    text: str
    category: str
    type: str
    source: str
    code: str | None = None


def _cue_terms(cues: dict[str, list[str]], norm: dict[str, dict[str, str]]) -> list[_Term]:
    out: list[_Term] = []
    for t in cues["tests"]:
        out.append(_Term(t, TTP, "TEST_NAME", "tests"))
    for t in cues["procedures"]:
        out.append(_Term(t, TTP, "PROCEDURE_NAME", "procedures"))
    for t in cues["treatments"]:
        out.append(_Term(t, TTP, "TREATMENT_NAME", "treatments"))
    for t in cues["chemicals"]:
        out.append(_Term(t, MED, "GENERIC_NAME", "cues"))
    for short in norm["abbreviations"]:
        out.append(_Term(short, MC, "DX_NAME", "abbrev"))
    return out


def _vocab_terms(
    vocab: NursingVocabulary, shortforms: ShortForms
) -> tuple[list[_Term], dict[str, str]]:
    """Nursing findings and adjectives (conditions), and the short forms (resolved in context)."""
    terms = [_Term(surface, MC, "DX_NAME", "vocab") for surface, _ in vocab.terms()]
    links = dict(vocab.terms())
    for sf in shortforms.forms:
        terms.append(_Term(sf, SHORTFORM, SHORTFORM, "shortform"))
        links[sf] = sf
    return terms, links


_CONDITION_WORD_RE = re.compile(
    r"(?:itis|emia|pathy|osis|oma|algia|plegia|toxicity|disease|syndrome|disorder|ism|use|abuse|"
    r"dependence|poisoning|overdose)$"
)


def _choose(entries: tuple[Entry, ...], text: str, begin: int, end: int) -> Entry:
    if len(entries) == 1:
        return entries[0]
    tests = [e for e in entries if e.type == "TEST_NAME"]
    meds = [e for e in entries if e.category == MED]
    if (
        tests
        and test_value(text, end)[0] is not None
        and not (meds and drug_dose_follows(text, end))
    ):
        return tests[0]
    if meds and not any(e.category == MC and e.source == "abbrev" for e in entries):
        surface = text[begin:end]
        if " " not in surface.strip() and not _CONDITION_WORD_RE.search(surface.lower()):
            return meds[0]
    return min(entries, key=lambda e: _PRIORITY.get(e.category, 9))


_DIGIT_BEFORE_RE = re.compile(r"\d[ \t]*$")
_PUNCT_RE = re.compile(r"[,.;:\n]")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z-]*")


def _word_before(text: str, begin: int) -> tuple[int, int, str] | None:
    """The word right before ``begin`` across spaces or tabs (``(start, end, word)``), as
    ``re.compile(r"([A-Za-z][A-Za-z-]*)[ \t]+$").search(text, max(0, begin - 30), begin)``
    finds it, scanned backwards (``tests/unit/test_local_fastpaths.py``).

    In ``text[:begin]`` the regex's ``$`` is the end or the place before a last line break;
    the leftmost match starts at the first letter of the word run within the 30 characters.
    """
    lo = max(0, begin - 30)
    e = begin
    if e > lo and text[e - 1] == "\n":
        e -= 1
    k = e
    while k > lo and text[k - 1] in " \t":
        k -= 1
    if k == e:
        return None
    j = k
    while j > lo and text[j - 1] in _WORD_CHARS:
        j -= 1
    while j < k and text[j] == "-":
        j += 1
    if j >= k:
        return None
    return j, k, text[j:k]


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")


def _sentence_end(sents: list[int], offset: int, n: int) -> int:
    i = bisect.bisect_right(sents, offset)
    return sents[i] if i < len(sents) else n
