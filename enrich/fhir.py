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


# --- extensions judged once per shape --------------------------------------------------------
#
# fhir.resources builds one model per Extension element: ~30 us each, ~70 ms for the ~2,200
# elements of an enriched document's aws-cm tree (every update or reprocess of one). Whether an
# Extension validates depends on its own members (types, pattern, one value[x], the required
# url, no null in its list) and on each child Extension validating: pydantic validates the
# items of a list one by one, and Extension's validators read only its own fields. So an
# element is valid when each child is and the element with its children replaced by one valid
# placeholder (none if it had none) is; that verdict is fhir.resources' own, kept by the
# element's members (value types included: ``1``, ``1.0`` and ``True`` are three keys).
# A resource whose top-level extensions are all valid so is validated with a placeholder
# instead of each; anything else (a non-dict element, a verdict "invalid") validates the
# resource as it is, so the errors are fhir.resources' own.

_PLACEHOLDER: dict[str, Any] = {"url": "urn:docref-nlp:valid"}
_VERDICTS: dict[tuple[object, ...], bool] = {}
_VERDICTS_MAX = 65536
_LONG = 256  # strings longer than this are not kept in a key (raw-response texts are unique)
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _extension_valid(node: object, depth: int = 0) -> bool:
    """Whether ``node`` validates as an R4B ``Extension`` (see above)."""
    if type(node) is not dict or depth > 100:
        return False
    key: list[object] = []
    long_value = False
    has_children = False
    for name, value in node.items():
        kind = type(value)
        if kind is str:  # a string equals only a string: no type in the key
            long_value = long_value or len(value) > _LONG
            key.append((name, value))
        elif name == "extension":
            if kind is not list:
                return False
            for child in value:
                if not _extension_valid(child, depth + 1):
                    return False
            has_children = len(value) > 0
            key.append((name, has_children))
        elif kind is float:  # by its digits: -0.0 == 0.0, nan != nan
            key.append((name, float, repr(value)))
        elif kind in _SCALARS:
            key.append((name, kind, value))
        elif _plain(value):  # e.g. valueReference: by its text (types and floats told apart)
            text = repr(value)
            long_value = long_value or len(text) > _LONG
            key.append((name, "repr", text))
        else:
            return False
    cache_key = tuple(key)
    verdict = None if long_value else _VERDICTS.get(cache_key)
    if verdict is None:
        shape = node
        if has_children:
            shape = dict(node)
            shape["extension"] = [_PLACEHOLDER]
        verdict = _model_validates(model_class("Extension"), shape)
        if not long_value:
            if len(_VERDICTS) >= _VERDICTS_MAX:
                _VERDICTS.clear()
            _VERDICTS[cache_key] = verdict
    return verdict


def _plain(value: object, depth: int = 0) -> bool:
    """Whether ``value`` is made of exactly dict (str keys), list, str, int, float, bool and
    None, whose ``repr`` then says the value and the types (``1``, ``1.0``, ``True``)."""
    if type(value) in _SCALARS:
        return True
    if depth > 20:
        return False
    if type(value) is list:
        return all(_plain(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    return False


def _model_validates(cls: Any, data: dict[str, Any]) -> bool:
    try:
        cls.model_validate(data)
    except (ValidationError, TypeError, ValueError, RecursionError):
        return False
    return True


def _with_valid_extensions(resource: dict[str, Any]) -> dict[str, Any] | None:
    """``resource`` with each top-level extension that validates replaced by a placeholder,
    or ``None`` when one does not (or there is nothing to replace)."""
    extensions = resource.get("extension")
    if type(extensions) is not list or not extensions:
        return None
    if not all(_extension_valid(e) for e in extensions):
        return None
    lighter = dict(resource)
    lighter["extension"] = [_PLACEHOLDER for _ in extensions]
    return lighter


def validate_resource(resource: dict[str, Any]) -> None:
    """Validate one resource dict with ``fhir.resources.R4B`` (its top-level extensions by
    shape, each shape once: the verdict is the same, see ``_extension_valid``).

    Raises:
        FhirValidationError: Missing/unknown ``resourceType`` or invalid content.
    """
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(resource_type, str):
        raise FhirValidationError("resource", "missing resourceType")
    cls = model_class(resource_type)
    lighter = _with_valid_extensions(resource)
    if lighter is not None and _model_validates(cls, lighter):
        return
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
