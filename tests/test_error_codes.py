"""The error-code registry (``nlp/codes.py``): unique codes, every code in use registered, and
``docs/error-codes.md`` generated from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nlp.codes import CODES, REGISTRY, CodedError, code_in, markdown, status_of

ROOT = Path(__file__).resolve().parent.parent
#: Where codes are written: the packages, the sample tools and the documentation.
SOURCES = ("nlp", "enrich", "models", "api", "cli", "samples", "scripts", "docs")
DOCS = ("README.md", "api/README.md", "models/README.md")
_USE = re.compile(r"NLP\d{3}")


def _files() -> list[Path]:
    files = [ROOT / name for name in DOCS]
    for folder in SOURCES:
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md")]
    return [p for p in files if p.is_file() and p.name != "error-codes.md"]


def test_codes_are_unique_and_well_formed() -> None:
    codes = [entry.code for entry in CODES]
    assert len(codes) == len(set(codes)) == len(REGISTRY)
    assert all(re.fullmatch(r"NLP\d{3}", code) for code in codes)
    assert all(entry.meaning and 400 <= entry.status < 600 for entry in CODES)


def test_every_code_written_anywhere_is_registered() -> None:
    used: dict[str, set[str]] = {}
    for path in _files():
        for code in _USE.findall(path.read_text(encoding="utf-8")):
            used.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    unregistered = {code: sorted(where) for code, where in used.items() if code not in REGISTRY}
    assert unregistered == {}
    assert {"NLP400", "NLP404", "NLP500", "NLP143", "NLP144"} <= used.keys()


def test_client_errors_of_the_api_are_their_http_status() -> None:
    for entry in CODES:
        if entry.code.startswith("NLP4"):  # search errors (NLP402, NLP403) answer 400
            assert entry.status == int(entry.code[3:]) or entry.code in ("NLP402", "NLP403")
            assert 400 <= entry.status < 500, entry
        if entry.code.startswith("NLP11"):  # transient engine errors: retry later
            assert entry.status == 503, entry


def test_asset_codes_no_longer_collide_with_http_codes() -> None:
    assert "assets" not in REGISTRY["NLP404"].meaning
    assert "RxNorm" not in REGISTRY["NLP405"].meaning
    assert REGISTRY["NLP143"].meaning.startswith("ICD-10-CM linker assets missing")
    assert REGISTRY["NLP144"].meaning.startswith("RxNorm linker assets missing")


def test_the_documentation_page_is_the_registry(update_golden: bool) -> None:
    page = ROOT / "docs" / "error-codes.md"
    if update_golden:
        page.write_text(markdown(), encoding="utf-8")
    assert page.read_text(encoding="utf-8") == markdown(), "rewrite it with --update-golden"


@pytest.mark.parametrize(
    ("code", "status"), [("NLP404", 404), ("NLP111", 503), ("NLP530", 502), ("NLP" + "000", 500)]
)
def test_coded_error_takes_its_status_from_the_registry(code: str, status: int) -> None:
    error = CodedError("went wrong", code=code)
    assert str(error) == f"[{code}] went wrong"
    assert error.status == status_of(code) == status
    assert code_in(str(error)) == code
