"""Compare two annotated views of one note: added, removed and changed entities (pure).

Entities are matched by their exact span (begin, end). A matched pair is *changed* when the
category, the type, the traits, the top ICD-10-CM or RxNorm concept, or the attribute spans
differ; score differences alone are shown but do not count as a change (every model upgrade
moves scores a little). Partly overlapping spans count as one removed and one added entity.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.ui.annotate import AnnotatedNote, Mark


@dataclass(frozen=True)
class DiffRow:
    """One line of the difference table (``a`` or ``b`` is ``None`` for added / removed)."""

    status: str  # "added" | "removed" | "changed" | "same"
    begin: int
    end: int
    a: Mark | None
    b: Mark | None
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    rows: list[DiffRow]

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def differences(self) -> list[DiffRow]:
        return [r for r in self.rows if r.status != "same"]


def _top(mark: Mark, vocabulary: str) -> str | None:
    for concept in mark.concepts:
        if concept.vocabulary == vocabulary:
            return concept.code
    return None


def changes(a: Mark, b: Mark) -> tuple[str, ...]:
    """What differs between two marks of the same span, in words.

    >>> x = Mark("x", "entity", 0, 4, "pain", "MEDICAL_CONDITION", "DX_NAME", 0.9)
    >>> y = Mark("y", "entity", 0, 4, "pain", "MEDICAL_CONDITION", "DX_NAME", 0.5)
    >>> changes(x, y)
    ()
    >>> y.type = "SYMPTOM"
    >>> changes(x, y)
    ('type DX_NAME → SYMPTOM',)
    """
    out: list[str] = []
    for name in ("category", "type"):
        old, new = getattr(a, name), getattr(b, name)
        if old != new:
            out.append(f"{name} {old or '-'} → {new or '-'}")
    old_traits = {t.name for t in a.traits}
    new_traits = {t.name for t in b.traits}
    if old_traits != new_traits:
        gained = [f"+{t}" for t in sorted(new_traits - old_traits)]
        lost = [f"−{t}" for t in sorted(old_traits - new_traits)]
        out.append("traits " + " ".join([*gained, *lost]))
    for vocabulary in ("ICD-10-CM", "RxNorm"):
        old_code, new_code = _top(a, vocabulary), _top(b, vocabulary)
        if old_code != new_code:
            out.append(f"{vocabulary} {old_code or '-'} → {new_code or '-'}")
    old_attrs = {(x.type, x.begin, x.end) for x in a.attributes}
    new_attrs = {(x.type, x.begin, x.end) for x in b.attributes}
    if old_attrs != new_attrs:
        gained = [f"+{t}" for t, _, _ in sorted(new_attrs - old_attrs, key=str)]
        lost = [f"−{t}" for t, _, _ in sorted(old_attrs - new_attrs, key=str)]
        out.append("attributes " + " ".join([*gained, *lost]))
    return tuple(out)


def compare(a: AnnotatedNote, b: AnnotatedNote) -> Comparison:
    """Match the entities of ``a`` and ``b`` by span; mark the marks (``diff``) and list rows."""
    old = {(m.begin, m.end): m for m in a.entities}
    new = {(m.begin, m.end): m for m in b.entities}
    rows: list[DiffRow] = []
    for span in sorted(old.keys() | new.keys()):
        left, right = old.get(span), new.get(span)
        if left is None and right is not None:
            right.diff = "added"
            rows.append(DiffRow("added", *span, None, right))
        elif right is None and left is not None:
            left.diff = "removed"
            rows.append(DiffRow("removed", *span, left, None))
        elif left is not None and right is not None:
            found = changes(left, right)
            if found:
                left.diff = right.diff = "changed"
                left.changes = right.changes = found
            rows.append(DiffRow("changed" if found else "same", *span, left, right, found))
    return Comparison(rows)
