"""The single import point of ``fhir.resources.R4B``: validation of emitted FHIR resources (D1)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError


class FhirValidationError(ValueError):
    """A resource does not validate as FHIR R4B. Message starts with ``[NLP210]``."""

    code = "NLP210"

    def __init__(self, resource_type: str, details: str) -> None:
        super().__init__(f"[{self.code}] invalid {resource_type}: {details}")
        self.resource_type = resource_type


def model_class(resource_type: str) -> Any:
    """The ``fhir.resources.R4B`` model class of a resource type.

    Raises:
        FhirValidationError: Unknown resource type.
    """
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError) as exc:
        raise FhirValidationError(resource_type, "unknown resource type") from exc


def _summary(exc: ValidationError) -> str:
    # Locations and error types only: field values may carry PHI.
    parts = [
        ".".join(str(p) for p in err.get("loc", ())) + f" ({err.get('type')})"
        for err in exc.errors()[:5]
    ]
    return "; ".join(parts)


def validate_resource(resource: dict[str, Any]) -> None:
    """Validate one resource dict with ``fhir.resources.R4B``.

    Raises:
        FhirValidationError: Missing/unknown ``resourceType`` or invalid content.
    """
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(resource_type, str):
        raise FhirValidationError("resource", "missing resourceType")
    cls = model_class(resource_type)
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        raise FhirValidationError(resource_type, _summary(exc)) from exc
    except (TypeError, ValueError) as exc:
        raise FhirValidationError(resource_type, type(exc).__name__) from exc


def round_trip(resource: dict[str, Any]) -> dict[str, Any]:
    """validate -> dump (JSON) -> validate; returns the dumped dict.

    Raises:
        FhirValidationError: The resource or its dump does not validate.
    """
    validate_resource(resource)
    cls = model_class(str(resource["resourceType"]))
    dumped: dict[str, Any] = json.loads(cls.model_validate(resource).model_dump_json())
    validate_resource(dumped)
    return dumped
