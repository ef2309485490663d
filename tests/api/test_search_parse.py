"""parse_search (pure) and the doctests of the api modules; settings from env and TOML."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

from api.search import (
    DateValue,
    RefValue,
    SearchError,
    TokenValue,
    parse_number,
    parse_search,
)
from api.settings import Settings, SettingsError

DOCTEST_MODULES = [
    "api.search",
    "api.search_values",
    "api.search_params",
    "api.store.extract",
    "api.store.bundles",
    "api.interactions",
    "api.routes.operations",
    "api.service",
]


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_seed_query_parses_with_stray_semicolon() -> None:
    q = parse_search(
        "DocumentReference",
        [
            ("_lastUpdated", "le2021-12-19"),
            ("infer-icd10cm-entity-text-concept-score;", "streptococcal|0.6"),
        ],
    )
    (criterion,) = q.nlp
    (alternative,) = criterion.alternatives
    text, score = alternative
    assert (text.field, text.op, text.value) == ("text", "prefix", "streptococcal")
    assert score.field == "concept_score"
    assert score.low == pytest.approx(0.55)
    assert score.high == pytest.approx(0.65)
    assert q.standard[0].values == (
        DateValue("le", "2021-12-19T00:00:00.000Z", "2021-12-20T00:00:00.000Z"),
    )


@pytest.mark.parametrize(
    ("text", "op", "low", "high"),
    [
        ("0.6", "eq", 0.55, 0.65),
        ("0.80", "eq", 0.795, 0.805),
        ("1", "eq", 0.5, 1.5),
        ("ge0.8", "ge", 0.8, 0.8),
        ("lt0.3", "lt", 0.3, 0.3),
        ("ne0.5", "ne", 0.45, 0.55),
        ("ap0.5", "ap", 0.45, 0.55),
        ("sa0.5", "gt", 0.5, 0.5),
    ],
)
def test_number_prefixes_and_precision(text: str, op: str, low: float, high: float) -> None:
    predicate = parse_number(text)
    assert predicate.op == op
    assert predicate.low == pytest.approx(low)
    assert predicate.high == pytest.approx(high)


def test_escapes_commas_and_separators() -> None:
    q = parse_search(
        "DocumentReference",
        [("infer-icd10cm-entity-text-concept-code", r"a\,b|X1,c\|d$X2")],
    )
    first, second = q.nlp[0].alternatives
    assert [p.value for p in first] == ["a,b", "X1"]
    assert [p.value for p in second] == ["c|d", "X2"]


def test_standard_values() -> None:
    q = parse_search(
        "Condition",
        [
            ("code", "http://hl7.org/fhir/sid/icd-10-cm|J02.0,R51"),
            ("subject:Patient", "p1"),
            ("_include", "Condition:derived-from"),
            ("_count", "5000"),
        ],
        max_count=1000,
    )
    code, subject = q.standard
    assert code.values == (
        TokenValue("http://hl7.org/fhir/sid/icd-10-cm", "J02.0"),
        TokenValue(None, "R51"),
    )
    assert subject.values == (RefValue("Patient", "p1"),)
    assert q.count == 1000
    assert q.include[0].param == "derived-from"


@pytest.mark.parametrize(
    "items",
    [
        [("subject:Patient", "Group/g1")],
        [("_include", "DocumentReference")],
        [("_include", "DocumentReference:nlp-generated:Patient")],
        [("status:exact", "current")],
        [("date:exact", "2020")],
        [("_offset", "x")],
    ],
)
def test_errors(items: list[tuple[str, str]]) -> None:
    with pytest.raises(SearchError, match=r"^\[NLP40\d\]"):
        parse_search("DocumentReference", items)


def test_unknown_type() -> None:
    with pytest.raises(SearchError, match=r"^\[NLP404\]"):
        parse_search("Patient", [])


class TestSettings:
    def test_defaults_are_safe(self) -> None:
        settings = Settings.from_env({})
        assert settings.host == "127.0.0.1"
        assert settings.db_path.endswith("docref-nlp.sqlite")
        assert not Path(settings.db_path).is_relative_to(Path(__file__).resolve().parents[2])
        settings.check_exposure()

    def test_env_toml_and_overrides(self, tmp_path: Path) -> None:
        config = tmp_path / "c.toml"
        config.write_text(
            '[docref-nlp]\nport = 9000\nengine = "replay:/x"\nprofile = "healthlake"\n'
        )
        env = {
            "DOCREF_NLP_CONFIG": str(config),
            "DOCREF_NLP_PORT": "9100",
            "DOCREF_NLP_API_TOKENS": "token-a-0123456789,token-b-0123456789",
        }
        settings = Settings.from_env(env, host="::1")
        assert (settings.port, settings.engine, settings.profile) == (
            9100,
            "replay:/x",
            "healthlake",
        )
        assert settings.api_tokens == ["token-a-0123456789", "token-b-0123456789"]
        assert settings.host == "::1"
        assert settings.is_loopback

    def test_exposure_needs_tokens_and_secret(self) -> None:
        with pytest.raises(SettingsError, match=r"\[NLP901\].*API_TOKENS.*WEBHOOK_SECRET"):
            Settings.from_env({"DOCREF_NLP_HOST": "0.0.0.0"}).check_exposure()
        Settings.from_env(
            {
                "DOCREF_NLP_HOST": "0.0.0.0",
                "DOCREF_NLP_API_TOKENS": "token-t-0123456789",
                "DOCREF_NLP_WEBHOOK_SECRET": "secret-s-0123456789",
            }
        ).check_exposure()

    @pytest.mark.parametrize(
        "env",
        [{"DOCREF_NLP_PORT": "http"}, {"DOCREF_NLP_ENGINE": "gpt"}, {"DOCREF_NLP_PROFILE": "x"}],
    )
    def test_bad_values(self, env: dict[str, str]) -> None:
        with pytest.raises(SettingsError, match=r"^\[NLP900\]"):
            Settings.from_env(env)
