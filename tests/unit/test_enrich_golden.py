"""Golden transaction Bundles for every sample x profile, and R4B validation of every resource."""

from __future__ import annotations

import json
import re

import pytest

from enrich.fhir import FhirValidationError, round_trip, validate_resource
from enrich.policy import PROFILES
from tests.golden import assert_golden, enrich_sample, sample_names

MICROS = re.compile(r"(\.\d{3})000Z")
CASES = [(name, profile) for name in sample_names() for profile in PROFILES]


def test_at_least_nine_samples() -> None:
    assert len(sample_names()) >= 9


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_golden_bundle(name: str, profile: str, update_golden: bool) -> None:
    bundle = enrich_sample(name, profile).transaction_bundle()
    assert_golden(f"{name}.{profile}", bundle, update_golden)


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_every_resource_validates_and_round_trips(name: str, profile: str) -> None:
    enrichment = enrich_sample(name, profile)
    for resource in enrichment.resources():
        dumped = round_trip(resource)
        # fhir.resources writes instants with microseconds; everything else comes back equal.
        text = MICROS.sub(r"\1Z", json.dumps(dumped, sort_keys=True))
        assert text == json.dumps(resource, sort_keys=True)
    validate_resource(enrichment.transaction_bundle())


def test_validate_resource_rejects_invalid() -> None:
    with pytest.raises(FhirValidationError, match=r"^\[NLP210\] invalid MedicationStatement"):
        validate_resource({"resourceType": "MedicationStatement", "status": "bogus"})
    with pytest.raises(FhirValidationError, match="unknown resource type"):
        validate_resource({"resourceType": "NoSuchThing"})
    with pytest.raises(FhirValidationError, match="missing resourceType"):
        validate_resource({"id": "x"})
