"""Numbers that look like dates or phone numbers in a clinical note but are not.

Nursing notes are full of numbers written like dates: ventilator settings (``PSV 10/5``,
``10/5/40%``), muscle strength (``5/5``), fractions (``1/2 tab``), pain scores (``8/10 pain``),
ranges (``co/ci 5-6/3-4``) and clock times in 24-hour form (``lasix given at 2000``); and
ranges of round numbers look like seven-digit phone numbers (``tidal volumes 900-1300``).
"""

from __future__ import annotations

import re

# a setting, a scale or a count right before the number
_SETTING_BEFORE = re.compile(
    r"\b(?:peep|ps|psv|pcv|prvc|imv|simv|ac|a/c|cpap|bipap|vent|flow-?by|settings?|"
    r"strength|motor|grips?|power|x|ratio|tv|vt|rr|wean(?:ed|ing)?(?:\s+down)?\s+to)\s*[:=]?\s*$",
    re.I,
)
_PAIN_BEFORE = re.compile(r"\b(?:pain|rates?|rated|rating|score|scale)\b[^.;\n]{0,15}$", re.I)
_PAIN_AFTER = re.compile(
    r"\s*(?:pain|cp|angina|ha|h/a|headache|discomfort|abd|abdominal|chest|back|incisional|"
    r"on\s+(?:the\s+)?(?:pain\s+)?scale)\b",
    re.I,
)
_PERCENT_AFTER = re.compile(r"(?:/\d+)?\s*%")
# a 24-hour clock time after these words ("at 2000", "until 2030", "from 2000 to 2400")
_TIME_BEFORE = re.compile(r"(?:\bat|@|\buntil|\btill|\baround|\babout|\bapprox\.?|~)\s*$", re.I)
_TIME_AFTER = re.compile(r"\s*(?:hrs?\b|hours\b|h\b|(?:to|until|-)\s*\d{4}\b)", re.I)
_TIME_FROM = re.compile(r"\b(?:from|between)\s*$", re.I)
_TIME_TO = re.compile(r"\b(?:from|between)\s*\d{4}\s*(?:to|and|until|-)\s*$", re.I)


def is_clock_time(text: str, begin: int, end: int) -> bool:
    """A four-digit number that reads as a 24-hour clock time in its context."""
    value = text[begin:end]
    if len(value) != 4 or not value.isdigit() or int(value[:2]) > 24 or int(value[2:]) > 59:
        return False
    before = text[max(0, begin - 30) : begin]
    if _TIME_BEFORE.search(before) or _TIME_TO.search(before):
        return True
    after = text[end : end + 16]
    return bool(_TIME_AFTER.match(after)) and (
        bool(_TIME_FROM.search(before)) or not after.lstrip().startswith(("-", "to"))
    )


def not_a_date(text: str, begin: int, end: int) -> bool:
    """True for fractions, strength, settings, pain scores, ranges and clock times."""
    value = text[begin:end]
    if value.isdigit():
        return is_clock_time(text, begin, end)
    if "/" not in value:
        return False
    parts = value.split("/")
    if not all(p.isdigit() for p in parts):
        return False
    if len(parts) == 2:
        mi, di = int(parts[0]), int(parts[1])
        if (di <= 4 and mi < di) or (mi == di == 5):
            return True  # 1/2, 3/4, 5/5
        if (
            di == 10
            and mi <= 10
            and (
                _PAIN_AFTER.match(text, end) or _PAIN_BEFORE.search(text, max(0, begin - 30), begin)
            )
        ):
            return True  # 8/10 pain
    if begin >= 2 and text[begin - 1] == "-" and text[begin - 2].isdigit():
        return True  # 5-6/3
    if text[end : end + 1] == "-" and text[end + 1 : end + 2].isdigit():
        return True  # 6/3-4
    if _PERCENT_AFTER.match(text, end):
        return True  # 10/5/40%
    return _SETTING_BEFORE.search(text, max(0, begin - 20), begin) is not None


def not_a_phone(text: str, begin: int, end: int) -> bool:
    """A range of round numbers written like a local phone number ("VT 900-1300")."""
    value = text[begin:end]
    parts = value.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return False
    low, high = int(parts[0]), int(parts[1])
    return low % 10 == 0 and high % 10 == 0 and low < high < 3 * low
