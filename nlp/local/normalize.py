"""Text normalisation shared by the builders and the linkers (pure functions, no I/O)."""

from __future__ import annotations

import re
import unicodedata

_PARENS = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_NON_WORD = re.compile(r"[^a-z0-9%./+]+")
_SPACES = re.compile(r"\s+")

# Words that carry no meaning for matching a mention to a concept name.
STOPWORDS: frozenset[str] = frozenset(
    {
        *("a", "an", "and", "the", "of", "in", "on", "at", "to", "for", "by", "from", "or"),
        *("as", "is", "are", "was", "nos", "unspecified", "type"),
    }
)

LATERALITY: frozenset[str] = frozenset({"left", "right", "bilateral", "unilateral"})
ACUITY: frozenset[str] = frozenset(
    {"acute", "chronic", "subacute", "recurrent", "acute-on-chronic"}
)


def fold(text: str) -> str:
    """Lower-case, strip accents, keep only word-ish characters, single spaces.

    >>> fold("Otitis  Média, NOS")
    'otitis media nos'
    """
    if text.isascii():
        text = text.lower()
    else:
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _NON_WORD.sub(" ", text)
    # a trailing dot/slash left over from punctuation ("ear." / "and/or") is noise
    text = re.sub(r"(?<![0-9])[./](?![0-9])", " ", text)
    return _SPACES.sub(" ", text).strip()


def drop_parens(text: str) -> str:
    """Remove parenthesised and bracketed modifiers.

    >>> drop_parens("Essential (primary) hypertension")
    'Essential hypertension'
    """
    return _SPACES.sub(" ", _PARENS.sub("", text)).strip()


def unwrap_parens(text: str) -> str:
    """Keep parenthesised words, drop the brackets themselves."""
    return _SPACES.sub(" ", re.sub(r"[\(\)\[\]]", " ", text)).strip()


def tokens(text: str) -> list[str]:
    """Folded tokens."""
    return fold(text).split()


def content_tokens(text: str) -> list[str]:
    """Folded tokens without stopwords (keeps the word order)."""
    return [t for t in tokens(text) if t not in STOPWORDS]


def key(text: str) -> str:
    """Order-insensitive match key: sorted unique content tokens.

    >>> key("Pain in left knee") == key("left knee pain")
    True
    """
    return " ".join(sorted(set(content_tokens(text))))


def strip_unspecified_qualifiers(text: str) -> str:
    """Drop comma-separated qualifiers that only say "unspecified"/"NOS".

    >>> strip_unspecified_qualifiers("Otitis media, unspecified, unspecified ear")
    'Otitis media'
    >>> strip_unspecified_qualifiers("Acute bronchitis, unspecified")
    'Acute bronchitis'
    """
    parts = [p.strip() for p in text.split(",")]
    kept = [parts[0]] + [
        p
        for p in parts[1:]
        if not re.match(
            r"(?i)^(unspecified|nos|not otherwise specified|site not specified|not specified)\b", p
        )
    ]
    return ", ".join(kept)


def strip_nos(text: str) -> str:
    """Drop a trailing "NOS".

    >>> strip_nos("Otitis media NOS")
    'Otitis media'
    """
    return re.sub(r"(?:,\s*|\s+)NOS\b\.?", "", text).strip()
