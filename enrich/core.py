"""enrich_document: DocumentReference + NlpResult -> Enrichment (pure: no I/O, no clock)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from enrich import extensions as ext
from enrich import urls
from enrich.allergy import (
    Allergy,
    Reaction,
    SmokingStatus,
    allergy_intolerance_from,
    smoking_status_from,
)
from enrich.extensions import ProjectInfo
from enrich.ids import resource_id
from enrich.index import IndexRow
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
    Source,
    condition_from,
    linkage_for,
    medication_statement_from,
    observation_from,
    provenance_for,
)
from enrich.text import content_hash, extract_text, is_reduced
from enrich.tree import aws_cm_extension_counted
from nlp.schema import Assertion, Concept, Entity, NlpResult, Trait

Json = dict[str, Any]

BES, ALLERGIES, TOBACCO_USE = "BEHAVIORAL_ENVIRONMENTAL_SOCIAL", "ALLERGIES", "TOBACCO_USE"
ALLERGEN, REACTION = "ALLERGEN", "REACTION"


class EnrichError(ValueError):
    """The input cannot be enriched (not a DocumentReference, no id). Message starts with a code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code


@dataclass
class Enrichment:
    """Everything one run produces; the caller writes it in one transaction.

    Attributes:
        document: The enriched DocumentReference (a copy; the input is never mutated).
        generated: Generated resources (Condition/Observation/MedicationStatement, then the
            Linkage, then the Provenance in the clinical profile).
        retired: ``Type/id`` of resources the previous run generated and this one does not.
        index_rows: What the NLP search index should hold for this document.
        status: ``SUCCESS``, ``VALIDATION_ERROR`` or ``UNSUPPORTED_CONTENT``.
        text_hash: SHA-256 of the analysed text (``None`` without text).
        message: The aws-cm message.
    """

    document: Json
    generated: list[Json] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    index_rows: list[IndexRow] = field(default_factory=list)
    status: str = ext.SUCCESS
    text_hash: str | None = None
    message: str = ext.SUCCESS_MESSAGE

    def resources(self) -> list[Json]:
        """The document first, then the generated resources."""
        return [self.document, *self.generated]

    def transaction_bundle(self) -> Json:
        """A FHIR transaction Bundle: PUT every resource by id, DELETE the retired ones."""
        entries: list[Json] = [
            {
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in self.resources()
        ]
        entries += [{"request": {"method": "DELETE", "url": ref}} for ref in self.retired]
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def fhir_instant(now: datetime) -> str:
    """A FHIR instant in UTC with milliseconds (naive datetimes are taken as UTC).

    >>> fhir_instant(datetime(2022, 10, 21, 19, 38, 30, 877000))
    '2022-10-21T19:38:30.877Z'
    """
    utc = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def needs_processing(
    doc: Json,
    text_hash: str | None,
    engine_name: str,
    engine_version: str,
    *,
    profile: str | None = None,
) -> bool:
    """Loop/duplicate guard (DESIGN §1 step 3): False when this text was already processed.

    Same text hash, engine name and version (and profile, when given) as the document's
    processing record -> nothing to do.
    """
    info = ext.read_project_info(doc)
    if info is None or ext.read_status(doc) is None:
        return True
    if profile is not None and info.profile != profile:
        return True
    return not (
        info.text_hash == text_hash
        and info.engine_name == engine_name
        and info.engine_version == engine_version
    )


def generated_by(doc: Json) -> list[str]:
    """``Type/id`` of everything the last run generated from ``doc`` (D6: delete with it).

    The Linkage and nlp-entity references of system-generated-resources, plus our Provenance.
    """
    refs = ext.read_generated_refs(doc)
    info = ext.read_project_info(doc)
    if info is not None and info.provenance and info.provenance not in refs:
        refs.append(info.provenance)
    return refs


def _first_encounter(doc: Json) -> Json | None:
    context = doc.get("context")
    if isinstance(context, dict):
        encounters = context.get("encounter")
        if isinstance(encounters, list) and encounters and isinstance(encounters[0], dict):
            return dict(encounters[0])
    return None


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


def _generate(doc_id: str, result: NlpResult, policy: EnrichmentPolicy, src: Source) -> list[Json]:
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


def _count_nested(document: Json, tree_at: int, tree_nodes: int) -> int:
    """``count_nested(document)``, the aws-cm tree's count (``tree_nodes``) being known.

    ``document["extension"][tree_at]`` is that tree: the bulk of the document is not walked.
    """
    count = 1
    for key, value in document.items():
        if key != "extension":
            count += ext.count_nested(value)
    extensions = document["extension"]
    count += 1 + tree_nodes
    for i, extension in enumerate(extensions):
        if i != tree_at:
            count += ext.count_nested(extension)
    return count


def enrich_document(
    doc: Json,
    result: NlpResult | None,
    *,
    policy: EnrichmentPolicy,
    now: datetime,
    engine_name: str,
    engine_version: str,
    text: str | None = None,
) -> Enrichment:
    """Decorate one DocumentReference with the NLP result and build what it generates.

    Args:
        doc: The DocumentReference JSON (must have an ``id``); never mutated.
        result: The engine's result, or ``None`` when the document has no usable text
            (status ``UNSUPPORTED_CONTENT``, no resources).
        policy: Profile and generation rules.
        now: The time written to ``meta.lastUpdated``, Provenance and the processing record.
        engine_name: Engine name recorded for the loop guard and the Provenance.
        engine_version: Engine version, likewise.
        text: The analysed text when the caller fetched it (``url`` attachments); by default
            the inline attachment is decoded here to compute the hash.

    Raises:
        EnrichError: ``[NLP201]`` not a DocumentReference, ``[NLP202]`` no id.
    """
    if not isinstance(doc, dict) or doc.get("resourceType") != "DocumentReference":
        raise EnrichError("NLP201", "input is not a DocumentReference")
    doc_id = doc.get("id")
    if not isinstance(doc_id, str) or not doc_id:
        raise EnrichError("NLP202", "DocumentReference has no id; assign one before enriching")

    document = copy.deepcopy(doc)
    instant = fhir_instant(now)
    previous = generated_by(doc)

    extracted = extract_text(doc)
    if text is None and extracted is not None:
        text = extracted.text
    text_hash = content_hash(text) if text is not None else None

    clinical = not policy.is_healthlake
    doc_ref = f"DocumentReference/{doc_id}"
    linkage_ref = f"Linkage/{resource_id(doc_id, 'Linkage')}"
    subject = doc.get("subject")
    src = Source(
        doc_ref=doc_ref,
        subject=copy.deepcopy(subject) if isinstance(subject, dict) else None,
        encounter=_first_encounter(doc),
        linkage_ref=linkage_ref,
        last_updated=instant,
        clinical=clinical,
        attachment_index=extracted.attachment_index if extracted is not None else None,
        offsets_in_attachment=extracted is None or not is_reduced(extracted.content_type),
    )

    if result is None:
        status, message = ext.UNSUPPORTED_CONTENT, ext.UNSUPPORTED_MESSAGE
        generated: list[Json] = []
    else:
        status, message = ext.SUCCESS, ext.SUCCESS_MESSAGE
        # R4 Condition and MedicationStatement require a subject: without one, generate nothing.
        generated = _generate(doc_id, result, policy, src) if src.subject is not None else []

    kept = ext.without_own_extensions(
        e for e in document.get("extension", []) if isinstance(e, dict)
    )

    index_rows: list[IndexRow] = []
    tree_nodes = [0]  # count_nested of the aws-cm tree written last (the first own extension)

    def decorate(status: str, message: str, generated: list[Json]) -> list[Json]:
        refs = [f"{r['resourceType']}/{r['id']}" for r in generated]
        index_rows.clear()  # the rows of the tree written last
        tree, tree_nodes[0] = aws_cm_extension_counted(result, status, message, index_rows)
        own = [tree]
        if generated:
            own.append(ext.system_generated_resources_extension(linkage_ref, refs))
        provenance = None
        if generated and clinical:
            provenance = f"Provenance/{resource_id(doc_id, 'Provenance')}"
        info = ProjectInfo(
            text_hash=text_hash,
            engine_name=engine_name,
            engine_version=engine_version,
            profile=policy.profile,
            processed_at=instant,
            provenance=provenance,
        )
        return [*kept, *own, ext.project_extension(info)]

    document["extension"] = decorate(status, message, generated)
    if policy.max_nested_objects is not None:
        count = _count_nested(document, len(kept), tree_nodes[0])
        if count > policy.max_nested_objects:
            status = ext.VALIDATION_ERROR
            message = ext.validation_error_message(count, policy.max_nested_objects)
            generated = []
            document["extension"] = decorate(status, message, generated)

    if generated:
        refs = [f"{r['resourceType']}/{r['id']}" for r in generated]
        linkage = linkage_for(linkage_ref.split("/", 1)[1], src, refs)
        generated.append(linkage)
        if clinical:
            prov_id = resource_id(doc_id, "Provenance")
            targets = [*refs, linkage_ref]
            generated.append(provenance_for(prov_id, src, targets, engine_name, engine_version))

    produced = {f"{r['resourceType']}/{r['id']}" for r in generated}
    retired = list(dict.fromkeys(r for r in previous if r not in produced))
    return Enrichment(
        document=document,
        generated=generated,
        retired=retired,
        index_rows=index_rows,  # = ext.read_index_rows(document), built with the tree
        status=status,
        text_hash=text_hash,
        message=message,
    )
