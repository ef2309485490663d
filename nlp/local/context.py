"""FastContext: medspacy's ConText algorithm, compiled to dictionary lookups over token strings.

It loads medspacy's own default rules (``resources/en/context_rules.json`` of the installed
package, found without importing medspacy) and reproduces, step by step, what
``medspacy.context.ConText`` does with ``max_scope=None``, ``max_targets=None``, pruning of
overlapping modifiers on and target-overlap pruning off (medspacy's defaults):

1. match every rule (token patterns with ``LOWER`` / ``IN`` / ``OP: "?"`` and phrase literals
   tokenised by the pipeline's tokenizer) and prune overlapping matches, longest first
   (``medspacy.common.util.prune_overlapping_matches``, reproduced exactly);
2. give each modifier its sentence as scope, cut to one side by its direction;
3. let modifiers of the same category, and TERMINATE modifiers, shorten each other's scope
   (``ConTextGraph.update_scopes``);
4. a modifier modifies a target that overlaps its scope and not itself
   (``ConTextModifier.modifies``, including its one-sided overlap test).

``tests/unit/test_local_context.py`` checks that the assignments equal medspacy's.

:meth:`FastContext.clinical` is the engine's variant (``rules/context.json``): medspacy's rules
with the clinical corrections listed there, medspacy's ``allowed_types`` / ``excluded_types``
rule keys, and three changes to the algorithm (DESIGN D16, ``docs/clinical-meaning.md``):

* a modifier that overlaps a target in any way never modifies it (a cue inside a condition's
  own name: "migraine without aura");
* scopes that overlap in any way limit each other (medspacy's one-sided overlap test lets a
  window of ``max_scope`` run past a terminator: "found by husband, but mental status
  changes");
* a rule with ``at_clause_end`` matches only right before a clause or sentence end
  ("Fever: none", but not "Extremities: No clubbing");
* the scope of the clause-bounded categories (negation, hypothetical, possible) ends at a
  semicolon, and at a comma unless what follows is a bare list item: "no clubbing, cyanosis, or
  edema" negates all three, "no n/v, tolerating diet, c/o pain" does not negate pain.
"""

from __future__ import annotations

import bisect
import importlib.util
import itertools
import json
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# ConText category -> medspacy span attribute (medspacy.context.context.DEFAULT_ATTRIBUTES).
DEFAULT_ATTRIBUTES = {
    "NEGATED_EXISTENCE": "is_negated",
    "POSSIBLE_EXISTENCE": "is_uncertain",
    "HISTORICAL": "is_historical",
    "HYPOTHETICAL": "is_hypothetical",
    "FAMILY": "is_family",
}


def medspacy_rules_path(language: str = "en") -> Path:
    """Path of medspacy's packaged ConText rules, found without importing medspacy.

    Raises:
        FileNotFoundError: medspacy (or its resources) is not installed.
    """
    spec = importlib.util.find_spec("medspacy")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("[NLP301] medspacy is not installed")
    path = Path(spec.origin).resolve().parents[1] / "resources" / language / "context_rules.json"
    if not path.exists():
        raise FileNotFoundError(f"[NLP302] medspacy ConText rules not found at {path}")
    return path


def load_rule_dicts(path: Path | None = None) -> list[dict[str, Any]]:
    """The rule dicts of a medspacy ``context_rules.json`` (default: medspacy's own)."""
    data = json.loads((path or medspacy_rules_path()).read_text(encoding="utf-8"))
    rules: list[dict[str, Any]] = data["context_rules"]
    return rules


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled ConText rule: alternatives are tuples of allowed lower-case token sets."""

    literal: str
    category: str
    direction: str
    alternatives: tuple[tuple[frozenset[str], ...], ...]
    is_pattern: bool
    max_scope: int | None = None
    terminated_by: frozenset[str] = frozenset()
    allowed_types: frozenset[str] | None = None
    excluded_types: frozenset[str] = frozenset()
    at_clause_end: bool = False
    category_for_types: tuple[tuple[str, str], ...] = ()

    def category_for(self, label: str | None) -> str:
        """The category this rule gives a target labelled ``label`` (ours: per-type override)."""
        for typ, category in self.category_for_types:
            if typ == label:
                return category
        return self.category

    def allows(self, label: str | None) -> bool:
        """``ConTextModifier.allows``: may this rule modify a target labelled ``label``?"""
        if label is None:
            return True
        if self.allowed_types is not None:
            return label in self.allowed_types
        return label not in self.excluded_types


@dataclass(slots=True, init=False)
class Modifier:
    """One matched modifier with its (mutable) scope, in token indices."""

    rule: Rule
    start: int
    end: int
    scope_start: int
    scope_end: int
    targets: list[int] = field(default_factory=list)

    # an explicit __init__: mypyc compiles it (the dataclass one runs as Python, ~10x slower)
    def __init__(
        self,
        rule: Rule,
        start: int,
        end: int,
        scope_start: int,
        scope_end: int,
        targets: list[int] | None = None,
    ) -> None:
        self.rule = rule
        self.start = start
        self.end = end
        self.scope_start = scope_start
        self.scope_end = scope_end
        self.targets = [] if targets is None else targets


_INERT = ("TERMINATE", "PSEUDO")  # directions of modifiers that modify no target


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    # medspacy.util.tuple_overlaps, deliberately one-sided like the original.
    return a0 <= b0 < a1 or a0 < b1 <= a1


def _token_set(spec: Any) -> frozenset[str]:
    if not isinstance(spec, dict) or set(spec) - {"LOWER", "OP"}:
        raise ValueError(f"[NLP303] unsupported ConText token pattern: {spec!r}")
    value = spec["LOWER"]
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, dict) and set(value) == {"IN"}:
        return frozenset(value["IN"])
    raise ValueError(f"[NLP303] unsupported ConText token pattern: {spec!r}")


def _expand(pattern: list[dict[str, Any]]) -> tuple[tuple[frozenset[str], ...], ...]:
    options: list[list[tuple[frozenset[str], ...]]] = []
    for spec in pattern:
        op = spec.get("OP")
        tok = _token_set(spec)
        if op is None:
            options.append([(tok,)])
        elif op == "?":
            options.append([(tok,), ()])
        else:
            raise ValueError(f"[NLP303] unsupported ConText operator {op!r}")
    alts = {tuple(itertools.chain.from_iterable(combo)) for combo in itertools.product(*options)}
    return tuple(sorted((a for a in alts if a), key=lambda a: (-len(a), sorted(a[0]))))


class FastContext:
    """Compiled ConText rules with medspacy's scope and modification semantics.

    Args:
        rules: Rule dicts in medspacy's JSON format (``literal``, ``category``, ``direction``,
            ``pattern``; optional ``max_scope``, ``terminated_by``, ``allowed_types``,
            ``excluded_types``; ours: ``at_clause_end`` (honoured only when ``clinical``) and
            ``category_for_types`` (type -> category given to targets of that type).
        tokenize: Splits a literal into token strings exactly as the pipeline's tokenizer does
            (medspacy tokenises phrase literals with ``nlp.tokenizer``).
        key: Maps a lower-case token string to what ``match`` receives per token (default:
            the string itself; the pipeline passes spaCy's string hash to use ``LOWER`` ids).
        clinical: Apply the clinical changes of the module docstring (default False: exactly
            medspacy's behaviour).
        clause_categories: Categories whose scope is clause-bounded when ``clinical``
            (default: none).
        fillers: Tokens allowed before a bare list item ("or", "and", ...) when ``clinical``.
    """

    def __init__(
        self,
        rules: Iterable[dict[str, Any]],
        tokenize: Callable[[str], list[str]],
        key: Callable[[str], Hashable] | None = None,
        *,
        clinical: bool = False,
        clause_categories: Iterable[str] = (),
        fillers: Iterable[str] = (),
    ) -> None:
        compiled: list[Rule] = []
        for d in rules:
            pattern = d.get("pattern")
            if pattern is None:
                toks = tokenize(str(d["literal"]).lower())
                alts: tuple[tuple[frozenset[str], ...], ...] = (
                    tuple(frozenset({t.lower()}) for t in toks),
                )
                is_pattern = False
            elif isinstance(pattern, list):
                alts = _expand(pattern)
                is_pattern = True
            else:
                raise ValueError("[NLP304] regular-expression ConText rules are not supported")
            allowed = d.get("allowed_types")
            compiled.append(
                Rule(
                    literal=str(d["literal"]),
                    category=str(d["category"]).upper(),
                    direction=str(d.get("direction", "BIDIRECTIONAL")).upper(),
                    alternatives=alts,
                    is_pattern=is_pattern,
                    max_scope=d.get("max_scope"),
                    terminated_by=frozenset(s.upper() for s in d.get("terminated_by") or ()),
                    allowed_types=frozenset(allowed) if allowed is not None else None,
                    excluded_types=frozenset(d.get("excluded_types") or ()),
                    at_clause_end=bool(d.get("at_clause_end", False)) and clinical,
                    category_for_types=tuple(
                        (str(t), str(c).upper())
                        for t, c in (d.get("category_for_types") or {}).items()
                    ),
                )
            )
        self.rules = compiled
        self.clinical = clinical
        self._families = _private_families(compiled) if clinical else {}
        self.clause_categories = frozenset(c.upper() for c in clause_categories)
        to_key: Callable[[str], Hashable] = key or (lambda s: s)
        self._breaks = frozenset(to_key(t) for t in (",", ";"))
        self._semicolon = to_key(";")
        self._ends = self._breaks | {to_key(t) for t in (".", ":", "!", "?")}
        self._fillers = frozenset(to_key(t) for t in fillers)
        # first token string -> [(order, rule index, alternative)], order = medspacy's
        # matcher order (token patterns before phrase literals).
        index: dict[Hashable, list[tuple[int, int, tuple[frozenset[Hashable], ...]]]] = {}
        for ri, rule in enumerate(compiled):
            order = 0 if rule.is_pattern else 1
            for alt in rule.alternatives:
                keyed = tuple(frozenset(to_key(t) for t in step) for step in alt)
                for first in keyed[0]:
                    index.setdefault(first, []).append((order, ri, keyed))
        self._index = index
        self._at_end = frozenset(ri for ri, r in enumerate(compiled) if r.at_clause_end)

    @classmethod
    def default(
        cls, tokenize: Callable[[str], list[str]], key: Callable[[str], Hashable] | None = None
    ) -> FastContext:
        """medspacy's default English rules."""
        return cls(load_rule_dicts(), tokenize, key)

    @classmethod
    def clinical_rules(
        cls, tokenize: Callable[[str], list[str]], key: Callable[[str], Hashable] | None = None
    ) -> FastContext:
        """The engine's rules: medspacy's, corrected and extended by ``rules/context.json``."""
        from nlp.local.text import load_rules

        data: dict[str, Any] = load_rules("context.json")
        removed = {(str(r["literal"]), str(r["category"]).upper()) for r in data["remove"]}
        kept = [
            r
            for r in load_rule_dicts()
            if (str(r["literal"]), str(r["category"]).upper()) not in removed
        ]
        return cls(
            [*kept, *data["rules"]],
            tokenize,
            key,
            clinical=True,
            clause_categories=data["clause_bounded_categories"],
            fillers=data["list_fillers"],
        )

    def match(
        self, lowers: Sequence[Hashable], sent_starts: Sequence[int] = ()
    ) -> list[tuple[int, int, int]]:
        """Pruned modifier matches ``(rule index, start, end)``, as medspacy's matcher.

        ``sent_starts`` is needed only for ``at_clause_end`` rules (clinical rules).
        """
        raw: set[tuple[int, int, int, int]] = set()
        index = self._index
        n = len(lowers)
        hits = [i for i, tok in enumerate(lowers) if tok in index]  # few tokens start a rule
        starts = None
        at_end = self._at_end
        for i in hits:
            for order, ri, alt in index[lowers[i]]:
                k = len(alt)
                if k > 1:  # most alternatives fail on their second token: test it first
                    if i + k > n or lowers[i + 1] not in alt[1]:
                        continue
                    if k > 2 and not all(lowers[i + j] in alt[j] for j in range(2, k)):
                        continue
                if ri in at_end:
                    if starts is None:
                        starts = frozenset(sent_starts)
                    e = i + k
                    if not (e == n or e in starts or lowers[e] in self._ends):
                        continue
                raw.add((order, i, i + k, ri))
        if not raw:
            return []
        ordered = sorted(raw)  # pattern matches first, then literals, as medspacy concatenates
        matches = [(ri, s, e) for _, s, e, ri in ordered]
        return prune_overlapping_matches(matches)

    def modifiers(
        self,
        lowers: Sequence[Hashable],
        sent_starts: Sequence[int],
        present: dict[int, set[str]] | None = None,
    ) -> list[Modifier]:
        """Matched modifiers with scopes set and limited (steps 1-3).

        ``present`` (clinical): target labels per sentence; a modifier of one of our private
        categories (statuses) is left out of a sentence where no target could take it or any
        category it interacts with, which changes no result and saves the work.
        """
        n = len(lowers)
        mods: list[Modifier] = []
        families = self._families
        for ri, start, end in self.match(lowers, sent_starts):
            rule = self.rules[ri]
            si = bisect.bisect_right(sent_starts, start) - 1
            family = families.get(rule.category) if present is not None else None
            if family is not None and present is not None and not family & present.get(si, set()):
                continue
            s_start = sent_starts[si] if si >= 0 else 0
            s_end = sent_starts[si + 1] if si + 1 < len(sent_starts) else n
            direction = rule.direction.lower()
            if direction == "forward":
                sc0, sc1 = end, s_end
                if rule.max_scope is not None and sc1 - sc0 > rule.max_scope:
                    sc1 = end + rule.max_scope
            elif direction == "backward":
                sc0, sc1 = s_start, start
                if rule.max_scope is not None and sc1 - sc0 > rule.max_scope:
                    sc0 = start - rule.max_scope
            else:
                sc0, sc1 = s_start, s_end
                if rule.max_scope is not None and start - sc0 > rule.max_scope:
                    sc0 = start - rule.max_scope
                if rule.max_scope is not None and sc1 - end > rule.max_scope:
                    sc1 = end + rule.max_scope
            mods.append(Modifier(rule, start, end, sc0, sc1))
        # Scopes never leave their sentence, so only modifiers of one sentence interact;
        # limiting them sentence by sentence, in order, is exactly medspacy's pairwise loop.
        by_sentence: dict[int, list[Modifier]] = {}
        for m in mods:
            si = bisect.bisect_right(sent_starts, m.start) - 1
            by_sentence.setdefault(si, []).append(m)
        for group in by_sentence.values():
            for i in range(len(group) - 1):
                m1 = group[i]
                for j in range(i + 1, len(group)):
                    m2 = group[j]
                    _limit_scope(m1, m2, self.clinical)
                    _limit_scope(m2, m1, self.clinical)
        return mods

    def apply(
        self,
        lowers: Sequence[Hashable],
        sent_starts: Sequence[int],
        targets: Sequence[tuple[int, int]],
        labels: Sequence[str] | None = None,
    ) -> list[list[Modifier]]:
        """The modifiers of each target ``(start, end)`` token span, in modifier order.

        A scope never leaves its sentence, so a target is only tested against the modifiers of
        the sentences it touches (same result as medspacy's all-pairs loop, linear time).
        ``labels`` (one per target, e.g. the entity category) feed the rules'
        ``allowed_types`` / ``excluded_types``.
        """
        sent_of = [bisect.bisect_right(sent_starts, t0) - 1 for t0, _ in targets]
        present: dict[int, set[str]] | None = None
        if self.clinical and labels is not None and self._families:
            present = {}
            for si, kind in zip(sent_of, labels, strict=True):
                present.setdefault(si, set()).add(kind)
        mods = self.modifiers(lowers, sent_starts, present)
        out: list[list[Modifier]] = [[] for _ in targets]
        if not mods:
            return out
        clinical = self.clinical
        if clinical and self.clause_categories:
            self._bound_to_clauses(mods, lowers, targets)
        by_sentence: dict[int, list[Modifier]] = {}
        for m in mods:
            if m.rule.direction not in _INERT:  # terminators and pseudo-cues modify nothing
                si = bisect.bisect_right(sent_starts, m.start) - 1
                by_sentence.setdefault(si, []).append(m)
        n_sents = len(sent_starts)
        for ti, (t0, t1) in enumerate(targets):
            label = labels[ti] if labels is not None else None
            s0 = sent_of[ti]
            if s0 + 1 < n_sents and sent_starts[s0 + 1] < t1:
                s1 = bisect.bisect_right(sent_starts, max(t0, t1 - 1)) - 1
            else:
                s1 = s0
            for si in range(s0, s1 + 1):
                for m in by_sentence.get(si, ()):
                    sc0, sc1 = m.scope_start, m.scope_end
                    if not (sc0 <= t0 < sc1 or sc0 < t1 <= sc1):  # _overlaps(scope, target)
                        continue
                    if clinical:
                        if m.start < t1 and t0 < m.end:
                            continue  # a cue inside (or across) the target's own words
                    elif _overlaps(m.start, m.end, t0, t1):
                        continue
                    if label is not None:
                        rule = m.rule
                        if rule.allowed_types is not None:
                            if label not in rule.allowed_types:
                                continue
                        elif label in rule.excluded_types:
                            continue
                    m.targets.append(ti)
        # Edges are listed modifier by modifier, as in ConTextGraph.apply_modifiers.
        for m in mods:
            for ti in m.targets:
                out[ti].append(m)
        return out

    def categories(
        self,
        lowers: Sequence[Hashable],
        sent_starts: Sequence[int],
        targets: Sequence[tuple[int, int]],
        labels: Sequence[str] | None = None,
    ) -> list[set[str]]:
        """The ConText categories (``NEGATED_EXISTENCE``...) of each target."""
        applied = self.apply(lowers, sent_starts, targets, labels)
        if labels is None:
            return [{m.rule.category for m in ms} for ms in applied]
        return [
            {m.rule.category_for(lb) if m.rule.category_for_types else m.rule.category for m in ms}
            for ms, lb in zip(applied, labels, strict=True)
        ]

    def _bound_to_clauses(
        self,
        mods: list[Modifier],
        lowers: Sequence[Hashable],
        targets: Sequence[tuple[int, int]],
    ) -> None:
        """Cut clause-bounded scopes at a semicolon, or a comma not followed by a list item."""
        bounded = [
            m
            for m in mods
            if m.rule.category in self.clause_categories and m.rule.direction not in _INERT
        ]
        if not bounded:
            return
        seen: set[int] = set()
        breaks: list[int] = []
        for m in bounded:  # breaks inside the scopes only: a scope stays in its sentence
            for i in range(m.scope_start, m.scope_end):
                if lowers[i] in self._breaks and i not in seen:
                    seen.add(i)
                    breaks.append(i)
        if not breaks:
            return
        breaks.sort()
        hard = frozenset(i for i in breaks if lowers[i] == self._semicolon)
        item_end: dict[int, int] = {}
        for t0, t1 in targets:
            if item_end.get(t0, -1) < t1:
                item_end[t0] = t1
        fillers = self._fillers

        def bare(s: int, e: int) -> bool:
            """``[s, e)`` holds one target, after fillers, with at most one word after it."""
            while s < e and lowers[s] in fillers:
                s += 1
            if s >= e:
                return True
            t_end = item_end.get(s)
            return t_end is not None and t_end <= e and e - t_end <= 1

        for m in bounded:
            rule = m.rule
            if rule.direction != "BACKWARD":
                k = bisect.bisect_left(breaks, m.end)
                end = m.scope_end
                while k < len(breaks) and breaks[k] < end:
                    nxt = breaks[k + 1] if k + 1 < len(breaks) and breaks[k + 1] < end else end
                    if breaks[k] in hard or not bare(breaks[k] + 1, nxt):
                        end = breaks[k]
                        break
                    k += 1
                m.scope_end = end
            if rule.direction != "FORWARD":
                k = bisect.bisect_left(breaks, m.start) - 1
                start = m.scope_start
                while k >= 0 and breaks[k] >= start:
                    prv = breaks[k - 1] + 1 if k >= 1 and breaks[k - 1] >= start else start
                    if breaks[k] in hard or not bare(prv, breaks[k]):
                        start = breaks[k] + 1
                        break
                    k -= 1
                m.scope_start = start


def _private_families(rules: Sequence[Rule]) -> dict[str, frozenset[str]]:
    """Categories whose every rule names its target types, with the types of their family.

    Such a category only ever modifies those types and only limits the scopes of its own
    category and of the categories linked to it by ``terminated_by`` (its family), so its
    modifiers can be left out of a sentence holding none of the family's target types.
    """
    by_category: dict[str, list[Rule]] = {}
    for r in rules:
        by_category.setdefault(r.category, []).append(r)
    private = {
        c
        for c, rs in by_category.items()
        if all(r.allowed_types is not None and r.direction not in _INERT for r in rs)
    }
    for r in rules:  # a category another kind of rule stops at is not private
        if r.category not in private:
            private -= r.terminated_by
    family = {c: {c} for c in private}
    for c in private:
        for r in by_category[c]:
            for other in r.terminated_by & private:
                merged = family[c] | family[other]
                for member in merged:
                    family[member] = merged
    out: dict[str, frozenset[str]] = {}
    for c in private:
        types: set[str] = set()
        for member in family[c]:
            for r in by_category[member]:
                types |= r.allowed_types or set()
        out[c] = frozenset(types)
    return out


def _limit_scope(self: Modifier, other: Modifier, clinical: bool = False) -> bool:
    """``ConTextModifier.limit_scope`` on plain data.

    ``clinical``: scopes that overlap in any way limit each other (medspacy's one-sided test
    misses a terminator whose sentence-wide scope contains a ``max_scope`` window).
    """
    if clinical:
        if not (self.scope_start < other.scope_end and other.scope_start < self.scope_end):
            return False
    elif not _overlaps(self.scope_start, self.scope_end, other.scope_start, other.scope_end):
        return False
    if self.rule.direction == "TERMINATE":
        return False
    if (
        other.rule.direction != "TERMINATE"
        and other.rule.category not in self.rule.terminated_by
        and other.rule.category != self.rule.category
    ):
        return False
    orig = (self.scope_start, self.scope_end)
    direction = self.rule.direction.lower()
    if direction in ("forward", "bidirectional") and other.start > self.start:
        self.scope_end = min(self.scope_end, other.start)
    if direction in ("backward", "bidirectional") and other.end < self.end:
        self.scope_start = max(self.scope_start, other.end)
    return orig != (self.scope_start, self.scope_end)


def prune_overlapping_matches(
    matches: list[tuple[int, int, int]],
) -> list[tuple[int, int, int]]:
    """``medspacy.common.util.prune_overlapping_matches`` (strategy "longest"), verbatim logic."""
    while True:
        unpruned = sorted(matches, key=lambda x: (x[1], x[2]))
        num = len(matches)
        if num == 0:
            return matches
        pruned: list[tuple[int, int, int]] = []
        curr = unpruned.pop(0)
        while True:
            if not unpruned:
                pruned.append(curr)
                break
            nxt = unpruned.pop(0)
            if _overlaps(curr[1], curr[2], nxt[1], nxt[2]):
                pruned.append(max(curr, nxt, key=lambda x: x[2] - x[1]))
                if not unpruned:
                    break
                curr = unpruned.pop(0)
            else:
                pruned.append(curr)
                curr = nxt
        if len(pruned) == num:
            return pruned
        matches = pruned


def without_spaces(
    text: str,
    lowers: Sequence[Hashable],
    token_idx: Sequence[int],
    sent_tokens: Sequence[int],
) -> tuple[Sequence[Hashable], Sequence[int], Sequence[int]]:
    """Token arrays without whitespace tokens, so "negative   for" reads as "negative for".

    spaCy keeps extra spaces and line breaks as tokens; ConText patterns never contain them.
    Sentence starts are mapped to the next kept token.
    """
    drop = [i for i, s in enumerate(token_idx) if text[s].isspace()]
    if not drop:
        return lowers, token_idx, sent_tokens
    new_lowers: list[Hashable] = []
    new_idx: list[int] = []
    last = 0
    for i in drop:
        new_lowers += lowers[last:i]
        new_idx += token_idx[last:i]
        last = i + 1
    new_lowers += lowers[last:]
    new_idx += token_idx[last:]
    new_sents: list[int] = []
    for s in sent_tokens:
        j = s - bisect.bisect_left(drop, s)  # kept tokens before s
        if j < len(new_idx) and (not new_sents or new_sents[-1] != j):
            new_sents.append(j)
    if new_idx and (not new_sents or new_sents[0] != 0):
        new_sents.insert(0, 0)
    return new_lowers, new_idx, new_sents
