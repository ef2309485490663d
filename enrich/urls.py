"""Every URL and code-system constant of the project (spec §0, DESIGN D2/D5)."""

from __future__ import annotations

# --- HealthLake (spec §0; trailing slashes are significant) --------------------------------
HL = "http://healthlake.amazonaws.com"
AWS_CM = HL + "/aws-cm/"
DETECT = HL + "/aws-cm/detect-entities/"
ICD10 = HL + "/aws-cm/infer-icd10/"
RXNORM = HL + "/aws-cm/infer-rxnorm/"
STATUS = HL + "/aws-cm/status/"
MESSAGE = HL + "/aws-cm/message/"
SGR = HL + "/system-generated-resources/"
LINKAGE = HL + "/linkage"
NLP_ENTITY = HL + "/nlp-entity"
SG_LINKAGE = HL + "/system-generated-linkage"
SRC_DOC = HL + "/source-document-reference"

# Children common to each operation branch (spec §1.2).
RAW_RESPONSE = "raw-response"
MODEL_VERSION = "model-version"

# Entity element prefixes per operation branch (D2).
DE_ENTITY = "aws-cm-de-entity"
ICD10_ENTITY = "aws-cm-icd10-entity"
RXNORM_ENTITY = "aws-cm-rxnorm-entity"

# Concept element and child infixes: ICD-10 uses "Concept-", RxNorm "Concepts-" (D2, spec §1.2).
ICD10_CONCEPT = ICD10_ENTITY + "-Concept"
ICD10_CONCEPT_CHILD = ICD10_ENTITY + "-Concept-"
RXNORM_CONCEPT = RXNORM_ENTITY + "-Concept"
RXNORM_CONCEPT_CHILD = RXNORM_ENTITY + "-Concepts-"

# Generated-resource score extensions (spec §3.2, R13, R14 / D5): modifierExtension in the
# healthlake profile (as HealthLake wrote them), plain extension in the clinical one (D16).
DETECT_ENTITY_SCORE = DETECT + DE_ENTITY + "-score"
ICD10_ENTITY_SCORE = ICD10 + ICD10_ENTITY + "-score"
ICD10_CONCEPT_SCORE = ICD10 + ICD10_CONCEPT_CHILD + "Score"
RXNORM_ENTITY_SCORE = RXNORM + RXNORM_ENTITY + "-score"
RXNORM_CONCEPT_SCORE = RXNORM + RXNORM_CONCEPT_CHILD + "Score"

# HealthLake's coding systems are the operation branch URLs (spec §3.2).
HL_ICD10_SYSTEM = ICD10
HL_RXNORM_SYSTEM = RXNORM

SYSTEM_GENERATED = "SYSTEM_GENERATED"

# --- Standard FHIR / terminology systems ----------------------------------------------------
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED_SYSTEM = "http://snomed.info/sct"
LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
DERIVATION_REFERENCE = "http://hl7.org/fhir/StructureDefinition/derivation-reference"
CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SMOKING_STATUS_CODE = "72166-2"  # LOINC "Tobacco smoking status"
PROVENANCE_AGENT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
PROVENANCE_ACTIVITY = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"

# --- docref-nlp's own definitions -----------------------------------------------------------
PROJECT_BASE = "https://docref-nlp.dev/fhir"
PROJECT_EXT = PROJECT_BASE + "/StructureDefinition/nlp-processing"
PROJECT_TEXT_SHA256 = "text-sha256"
PROJECT_ENGINE_NAME = "engine-name"
PROJECT_ENGINE_VERSION = "engine-version"
PROJECT_PROFILE = "profile"
PROJECT_PROCESSED_AT = "processed-at"
PROJECT_PROVENANCE = "provenance"
# Offsets into the text derived from an HTML attachment (derivation-reference offsets would
# point into the HTML itself): sub-extensions offset and length.
REDUCED_TEXT_SPAN = PROJECT_BASE + "/StructureDefinition/nlp-reduced-text-span"
TAG_SYSTEM = PROJECT_BASE + "/CodeSystem/docref-nlp-tags"
TAG_CODE = "system-generated"
DEVICE_ID_SYSTEM = PROJECT_BASE + "/NamingSystem/nlp-engine"

# Namespace of deterministic resource ids (enrich.ids).
ID_NAMESPACE_URL = PROJECT_BASE + "/ids"
