"""Clinical meaning of the local engine's mentions (DESIGN D16, ``docs/clinical-meaning.md``).

Two steps around ConText, called by the annotator:

* :meth:`Meaning.prepare` (before ConText): section headers are never entities; behaviours
  become BEHAVIORAL_ENVIRONMENTAL_SOCIAL entities (``social.py``); allergy statements give
  ALLERGIES entities with their allergen and reactions marked (``allergies.py``).
* :meth:`Meaning.finish` (after ConText): the traits that phrases carry by themselves
  ("nonsmoker", "NKDA"), a condition or procedure followed by a year is past ("MI 1992"),
  past use of a behaviour, and the statuses of medications and
  conditions from ConText (``traits.context_status``) or, for a drug listed under a
  medications header with no other word about it, ``ACTIVE``; a test or procedure under a
  plan header is planned (HYPOTHETICAL) unless it is negated or past.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from nlp.local.allergies import AllergyStatements
from nlp.local.mention import BES, MC, MED, TTP, Mention
from nlp.local.sections import Section, Sectionizer
from nlp.local.social import SocialHistory
from nlp.local.spans import SpanSet
from nlp.local.text import Normaliser, Words
from nlp.local.traits import BEHAVIOUR_PAST, context_status

_DATABLE = frozenset({MC, TTP})
# a year written right after a condition or procedure: an event of the past
_YEAR_AFTER_RE = re.compile(r"[ \t]*[(,]?[ \t]*(?:in[ \t]+)?'?(?:19|20)\d\d\b(?![/-])")
_VALUE_AFTER_RE = re.compile(r"[ \t]*(?:[<>]=?|=|:)?[ \t]*\d")
_GOAL_BEFORE_RE = re.compile(r"\b(?:maintain|keep|goal|target)[ \t]+(?:\w+[ \t]+)?$", re.I)
# "quit 10 years ago", "for 20 years": a duration, never an age.
_DURATION_AFTER_RE = re.compile(
    r"[ \t]*-?[ \t]*(?:years?|yrs?)[ \t]+(?:ago|prior|earlier|before|previously)\b", re.I
)
_DURATION_BEFORE_RE = re.compile(r"\b(?:for|x|over|past|last|quit|since|within)[ \t]+$", re.I)
# An admission or transfer note opens with the story before this unit ("admitted to the ER
# with ...; CT neg; given 2 FFP ... Arrived in the unit at 2130"): what was done or given in that
# story is past, the presenting problem is not (the gold guide's "history": one-off treatment
# before arrival in this unit). The story must start in the note's opening lines and end at the
# arrival in this unit; without an arrival the note is not read as a story.
_STORY_OPENING = 300
_STORY_START_RE = re.compile(
    r"\b(?:admitted|admit|presented|presents|brought|transferred|transfer|transported|"
    r"med-?flighted|flown|came)[ \t]+(?:\w+[ \t]+){0,3}?(?:to|from|in|at|with|into)\b",
    re.I,
)
_UNIT = r"(?:the[ \t]+)?(?:ccu|micu|sicu|csru|cvicu|nsicu|tsicu|ticu|icu|unit|floor|here)\b"
_STORY_END_RE = re.compile(
    r"\b(?:arrived|arrival|arriving|on[ \t]+admission[ \t]+to[ \t]+"
    + _UNIT
    + r"|(?:admitted|transferred|sent|brought|came)[ \t]+(?:up[ \t]+)?(?:to|into)[ \t]+"
    + _UNIT
    + ")",
    re.I,
)
_STORY_TYPES = frozenset({TTP, MED})
# ... but a drug the patient is on, takes at home or runs as a drip continues here
_IN_USE_BEFORE_RE = re.compile(
    r"\b(?:on|requiring|requires|takes|taking|home)[ \t]+(?:\S+[ \t]+)?$", re.I
)
_IN_USE_AFTER_RE = re.compile(r"[ \t]*(?:gtt|drip|infusion|at[ \t]+home)\b", re.I)


@dataclass
class Prepared:
    """What :meth:`Meaning.prepare` found, handed to :meth:`Meaning.finish`.

    Attributes:
        sections: The note's sections.
        headers: Spans of the section headers.
        fixed: ``{id(mention): trait}`` for mentions whose own words carry a trait.
    """

    sections: list[Section]
    headers: SpanSet
    fixed: dict[int, str] = field(default_factory=dict)


class Meaning:
    """Sections, behaviours, allergies and statuses (see the module docstring).

    Args:
        sectionizer: The annotator's :class:`Sectionizer` (its ``roles`` table says which
            sections hold allergies, social history and medication lists).
        normaliser: The annotator's word normaliser.
    """

    def __init__(self, sectionizer: Sectionizer, normaliser: Normaliser) -> None:
        self.sectionizer = sectionizer
        self.social = SocialHistory(normaliser)
        self.allergies = AllergyStatements()

    def prepare(
        self, text: str, words: Words, mentions: list[Mention], sections: list[Section]
    ) -> tuple[list[Mention], Prepared]:
        """Mentions without header words, with behaviours and allergy entities added."""
        headers = SpanSet((s.begin, s.header_end) for s in sections)
        if len(headers):
            mentions = [m for m in mentions if not headers.overlaps(m.begin, m.end)]
        roles = self.sectionizer.roles
        mentions, fixed = self.social.apply(text, mentions, sections, roles, words)
        mentions, none = self.allergies.apply(text, mentions, sections, roles)
        fixed.update(none)
        return mentions, Prepared(sections, headers, fixed)

    def finish(self, text: str, mentions: Sequence[Mention], prepared: Prepared) -> None:
        """Traits carried by the words themselves, past use, and statuses."""
        in_list = self._bodies(prepared.sections, "medications")
        in_plan = self._bodies(prepared.sections, "plan")
        fixed = prepared.fixed
        dated = _YEAR_AFTER_RE.match
        story = admission_story(text)
        for m in mentions:
            if fixed:
                trait = fixed.get(id(m))
                if trait is not None:
                    m.traits[trait] = 0.9
            if (
                m.category in _DATABLE
                and dated(text, m.end) is not None
                and "NEGATION" not in m.traits
            ):
                m.traits["PAST_HISTORY"] = 0.8  # "s/p MI 1992", "CVA in 2001": dated, past
            if (
                story is not None
                and m.category in _STORY_TYPES
                and story[0] <= m.begin
                and m.end <= story[1]
                and not {"NEGATION", "HYPOTHETICAL"} & m.traits.keys()
                and not (m.category == MED and _in_use(text, m))
            ):
                m.traits["PAST_HISTORY"] = 0.75  # done or given before this unit
            if m.category == BES:
                if m.context & BEHAVIOUR_PAST and "NEGATION" not in m.traits:
                    m.traits["PAST_HISTORY"] = 0.85
                continue
            if m.category == TTP:
                if (
                    len(in_plan)
                    and in_plan.overlaps(m.begin, m.end)
                    and not {"NEGATION", "PAST_HISTORY"} & m.traits.keys()
                    and not _is_target(text, m)
                ):
                    m.traits["HYPOTHETICAL"] = 0.8
                continue
            if m.status is None and m.context:
                m.status = context_status(m.category, m.context)
            if (
                m.status is None
                and m.category == MED
                and m.role is None
                and len(in_list)
                and in_list.overlaps(m.begin, m.end)
            ):
                m.status = "ACTIVE"

    def _bodies(self, sections: Sequence[Section], role: str) -> SpanSet:
        """Bodies of the sections whose role is ``role``."""
        roles = self.sectionizer.roles
        return SpanSet((s.header_end, s.end) for s in sections if roles.get(s.category) == role)


def _is_target(text: str, m: Mention) -> bool:
    """A measure written as a goal or with its value ("to maintain MAPs > 60", "K 3.1") is no
    planned test."""
    return bool(
        _VALUE_AFTER_RE.match(text, m.end)
        or _GOAL_BEFORE_RE.search(text, max(0, m.begin - 20), m.begin)
    )


def _in_use(text: str, m: Mention) -> bool:
    """A drug written as in use ("on coumadin", "dopamine gtt", "lasix at home")."""
    return bool(
        _IN_USE_BEFORE_RE.search(text, max(0, m.begin - 24), m.begin)
        or _IN_USE_AFTER_RE.match(text, m.end)
    )


def admission_story(text: str) -> tuple[int, int] | None:
    """``[begin, end)`` of the story before this unit that opens an admission or transfer note.

    >>> admission_story("Admitted to OSH with sepsis. CT neg; given vanco. Arrived in ICU 2am.")
    (0, 50)
    >>> admission_story("Pt admitted to OSH with sepsis, given vanco.") is None
    True
    """
    start = _STORY_START_RE.search(text, 0, _STORY_OPENING)
    if start is None:
        return None
    end = _STORY_END_RE.search(text, start.end())
    if end is None:
        return None
    return start.start(), end.start()


def is_duration(text: str, begin: int, end: int) -> bool:
    """True when the number at ``[begin, end)`` counts years of a duration, not an age."""
    return bool(
        _DURATION_AFTER_RE.match(text, end)
        or _DURATION_BEFORE_RE.search(text, max(0, begin - 12), begin)
    )
