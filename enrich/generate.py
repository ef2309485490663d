"""The generated resources of one document, from its NLP result (DESIGN D5, D16).

Compiled with mypyc (``GROUPS`` in ``nlp/local/native.py``), as the builders it calls
(``enrich.resources``, ``enrich.allergy``, ``enrich.meaning``, ``enrich.ids``): it takes the
engine's result, the policy and the document's :class:`enrich.source.Source` (values copied
from the document by ``enrich.core``), never a stored resource.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from enrich import urls
from enrich.allergy import (
    Allergy,
    Reaction,
    SmokingStatus,
    allergy_intolerance_from,
    smoking_status_from,
)
from enrich.ids import resource_id
from enrich.meaning import (
    Written,
    condition_clinical_status,
    condition_verification,
    dosage,
    is_smoking,
    medication_status,
    smoking_status,
)
from enrich.policy import EnrichmentPolicy
from enrich.resources import (
    Mention,
    condition_from,
    medication_statement_from,
    observation_from,
)
from enrich.source import Source
from nlp.schema import Assertion, Concept, Entity, NlpResult, Trait

Json = dict[str, Any]

BES, ALLERGIES, TOBACCO_USE = "BEHAVIORAL_ENVIRONMENTAL_SOCIAL", "ALLERGIES", "TOBACCO_USE"
ALLERGEN, REACTION = "ALLERGEN", "REACTION"


def _trait_names(traits: Iterable[Trait] | None, min_score: float) -> set[str]:
    return {t.name for t in traits or [] if t.score is None or t.score >= min_score}


class _SpanTraits:
    """Trait names (score >= ``m``) of the DetectEntitiesV2 entities at each exact span."""

    def __init__(self, entities: list[Entity], m: float) -> None:
        self._m = m
        self._entities: dict[tuple[int | None, int | None], list[Entity]] = {}
        for e in entities:
            self._entities.setdefault((e.begin_offset, e.end_offset), []).append(e)
        self._names: dict[tuple[int | None, int | None], set[str]] = {}

    def __call__(self, begin: int | None, end: int | None) -> set[str]:
        """The names at ``(begin, end)``, read when first asked (most spans never are)."""
        names = self._names.get((begin, end))
        if names is None:
            names = set()
            for e in self._entities.get((begin, end), ()):
                names |= _trait_names(e.traits, self._m)
            self._names[(begin, end)] = names
        return names


def _top(concepts: list[Concept] | None) -> Concept | None:
    best: Concept | None = None
    for c in concepts or []:
        if best is None or (c.score or 0.0) > (best.score or 0.0):
            best = c
    return best


class _Said:
    """Our Assertions (``nlp.schema.Assertion``) by entity span and category."""

    def __init__(self, assertions: list[Assertion] | None) -> None:
        self._by: dict[tuple[int, int, str], Assertion] = {
            (a.begin_offset, a.end_offset, a.category): a for a in assertions or []
        }

    def __call__(self, begin: int | None, end: int | None, category: str) -> Assertion | None:
        if begin is None or end is None or not self._by:
            return None
        return self._by.get((begin, end, category))

    def reactions(self) -> dict[tuple[int, int], list[tuple[int, int]]]:
        """Allergen span -> spans of the reactions written with it."""
        out: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for (b, e, _), a in self._by.items():
            if a.role == REACTION and a.related_begin_offset is not None:
                key = (a.related_begin_offset, a.related_end_offset or a.related_begin_offset)
                out.setdefault(key, []).append((b, e))
        return out


def _inside(spans: list[tuple[int, int]], begin: int | None, end: int | None) -> bool:
    return begin is not None and end is not None and any(b <= begin and end <= e for b, e in spans)


def generate(doc_id: str, result: NlpResult, policy: EnrichmentPolicy, src: Source) -> list[Json]:
    out: list[Json] = []
    seen: set[str] = set()

    def add(resource: Json) -> None:
        if resource["id"] not in seen:
            seen.add(resource["id"])
            out.append(resource)

    clinical = not policy.is_healthlake
    tmin = policy.trait_min_score
    de_traits = _SpanTraits(result.entities, tmin)
    said = _Said(result.assertions if clinical else None)
    allergy_spans = _allergy_spans(result, policy) if clinical else []

    def chosen(concepts: list[Concept] | None) -> list[Concept]:
        if policy.is_healthlake:
            return list(concepts or [])
        top = _top(concepts)
        return [top] if top is not None and (top.score or 0.0) >= policy.min_score else []

    for ent in result.icd10cm_entities:
        b, e = ent.begin_offset, ent.end_offset
        status: str | None = None
        if policy.is_healthlake:
            names = _trait_names(ent.traits, 0.0)
        else:
            names = _trait_names(ent.traits, tmin) | de_traits(b, e)
            if names & policy.suppressing_traits:
                continue
            if (ent.score or 0.0) < policy.min_entity_score:
                continue
            a = said(b, e, "MEDICAL_CONDITION")
            if (a is not None and a.role == REACTION) or _inside(allergy_spans, b, e):
                continue  # written as the reaction of an allergy, not a condition of now
            status = a.status if a is not None else None
        if names & policy.condition_traits:
            kind = "Condition"
        elif names & policy.observation_traits:
            kind = "Observation"
        else:
            continue
        for c in chosen(ent.concepts):
            past = clinical and bool(names & policy.medication_past_traits)
            if past and c.code.startswith(policy.past_use_code_prefixes):
                continue  # a former smoker is no nicotine dependence (smoking status says)
            rid = resource_id(doc_id, kind, b, e, c.code)
            m = Mention(b, e, ent.score, c)
            if kind == "Observation":
                add(observation_from(rid, src, m))
            else:
                clinical_status = condition_clinical_status(names, status)
                verification = condition_verification(names)
                add(condition_from(rid, src, m, clinical_status, verification))

    for rx in result.rxnorm_entities:
        b, e = rx.begin_offset, rx.end_offset
        med_status, dose = "unknown", None
        if clinical:
            if (rx.score or 0.0) < policy.min_entity_score:
                continue
            a = said(b, e, "MEDICATION")
            if (a is not None and a.role == ALLERGEN) or _inside(allergy_spans, b, e):
                continue  # an allergen: AllergyIntolerance below, not a drug taken
            names = _trait_names(rx.traits, tmin) | de_traits(b, e)
            if names & policy.medication_suppressing_traits:
                continue
            med_status = medication_status(
                names,
                a.status if a is not None else None,
                negation=policy.medication_negation_traits,
                past=policy.medication_past_traits,
            )
            dose = dosage(
                Written(t.type, t.text, t.begin_offset or 0)
                for t in rx.attributes or []
                if t.type is not None and t.text is not None
            )
        for c in chosen(rx.concepts):
            rid = resource_id(doc_id, "MedicationStatement", b, e, c.code)
            m = Mention(b, e, rx.score, c)
            add(medication_statement_from(rid, src, m, med_status, dose))

    if clinical and policy.allergies:
        for allergy in _allergies(result, policy, said, chosen):
            code = allergy.concept.code if allergy.concept is not None else None
            rid = resource_id(doc_id, "AllergyIntolerance", allergy.begin, allergy.end, code)
            add(allergy_intolerance_from(rid, src, allergy))
    if clinical and policy.smoking_status:
        for smoking in _smoking(result, policy):
            rid = resource_id(
                doc_id, "Observation", smoking.begin, smoking.end, urls.SMOKING_STATUS_CODE
            )
            add(smoking_status_from(rid, src, smoking))
    return out


def _allergy_spans(result: NlpResult, policy: EnrichmentPolicy) -> list[tuple[int, int]]:
    """Spans of the allergy statements that hold (not negated, hypothetical or a relative's)."""
    out: list[tuple[int, int]] = []
    for e in result.entities:
        if e.category != BES or e.type != ALLERGIES:
            continue
        if e.begin_offset is None or e.end_offset is None:
            continue
        if _trait_names(e.traits, policy.trait_min_score) & policy.suppressing_traits:
            continue
        out.append((e.begin_offset, e.end_offset))
    return out


def _allergies(
    result: NlpResult,
    policy: EnrichmentPolicy,
    said: _Said,
    chosen: Callable[[list[Concept] | None], list[Concept]],
) -> list[Allergy]:
    """One Allergy per ALLERGIES entity that holds: its medication's concept, its reactions."""
    reaction_spans = said.reactions()
    icd = {(x.begin_offset, x.end_offset): x for x in result.icd10cm_entities}
    out: list[Allergy] = []
    for b, e in _allergy_spans(result, policy):
        entity = next(
            x
            for x in result.entities
            if (x.begin_offset, x.end_offset) == (b, e) and x.category == BES
        )
        med = next(
            (
                rx
                for rx in result.rxnorm_entities
                if rx.begin_offset is not None
                and rx.end_offset is not None
                and b <= rx.begin_offset
                and rx.end_offset <= e
            ),
            None,
        )
        concepts = chosen(med.concepts) if med is not None else []
        a = said(b, e, BES)
        category = a.substance_category if a is not None else None
        if med is not None and category is None:
            category = "medication"
        reactions = []
        within = [s for s in icd if s[0] is not None and s[1] is not None and b <= s[0] < s[1] <= e]
        for span in dict.fromkeys([*reaction_spans.get((b, e), []), *within]):
            x = icd.get(span)
            if x is not None and x.text:
                top = chosen(x.concepts)
                reactions.append(Reaction(x.text, top[0] if top else None))
        text = (med.text if med is not None else None) or entity.text or ""
        out.append(
            Allergy(
                b,
                e,
                text,
                entity.score,
                concepts[0] if concepts else None,
                category,
                reactions,
            )
        )
    return out


def _smoking(result: NlpResult, policy: EnrichmentPolicy) -> list[SmokingStatus]:
    """Tobacco smoking mentions about the patient, read as 72166-2 answers."""
    out: list[SmokingStatus] = []
    skip = policy.suppressing_traits - policy.medication_negation_traits
    for e in result.entities:
        if e.category != BES or e.type != TOBACCO_USE or not e.text:
            continue
        names = _trait_names(e.traits, policy.trait_min_score)
        if names & skip or not is_smoking(e.text):
            continue
        attrs = [t.text for t in e.attributes or [] if t.text]
        answer = smoking_status(names, attrs)
        out.append(SmokingStatus(e.begin_offset, e.end_offset, e.text, e.score, answer))
    return out
