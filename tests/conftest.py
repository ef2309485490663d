"""Shared pytest options and fixtures: --slow (opt-in slow tests), --update-golden, and the
PHI log guard: the whole suite logs at DEBUG (as a service started with ``--log-level debug``),
and a test fails when any log record carries a PHI sentinel (D14)."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.observability import QUIET_LOGGERS

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"
REFERENCE_DOCS = SHARED / "reference" / "comprehend-medical-docs"


#: Strings that stand for PHI in test data (tests/test_phi_logging.py puts them in a note, its
#: entities and the patient's identifiers, and drives them through every path of the service).
#: No log record of any test may contain one, at any level.
PHI_SENTINELS = ("ZZPHI-NOTE-7f3a", "ZZPHI-ENTITY-91bc", "ZZPHI-PATIENT-44d2")


class PhiGuard(logging.Handler):
    """Collects every log record that carries a PHI sentinel: message, arguments, exception
    message and traceback all checked."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        try:
            parts = [record.getMessage()]
        except Exception:
            parts = [str(record.msg), repr(record.args)]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        text = "\n".join(parts)
        for sentinel in PHI_SENTINELS:
            if sentinel in text:
                self.leaks.append(f"{record.name} {record.levelname}: sentinel {sentinel}")


PHI_GUARD = PhiGuard()


def _install_guard() -> None:
    root = logging.getLogger()
    if PHI_GUARD not in root.handlers:
        root.addHandler(PHI_GUARD)
    root.setLevel(logging.DEBUG)  # as `serve --log-level debug`: everything the service logs
    for name in QUIET_LOGGERS:  # as api.observability.configure_logging pins them
        logging.getLogger(name).setLevel(logging.WARNING)


def pytest_configure(config: pytest.Config) -> None:
    _install_guard()


@pytest.fixture(autouse=True)
def _no_phi_in_logs() -> Iterator[None]:
    """Fails the test whose logging carried a PHI sentinel. The guard is (re)installed before
    each test, and the root logger restored after it (``serve`` tests reconfigure logging)."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    _install_guard()
    before = len(PHI_GUARD.leaks)
    yield
    for handler in list(root.handlers):
        if handler not in handlers and handler is not PHI_GUARD:
            root.removeHandler(handler)
    _install_guard()
    leaks = PHI_GUARD.leaks[before:]
    if leaks:
        pytest.fail("PHI in log records: " + "; ".join(leaks[:5]), pytrace=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="run slow tests")
    parser.addoption(
        "--update-golden", action="store_true", default=False, help="rewrite golden files"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow test: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def load_sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The hostile-input run's totals (tests/test_hostile_http.py), when it ran."""
    import sys

    module = sys.modules.get("tests.test_hostile_http")
    if module is not None and module.COUNTS["cases"]:
        terminalreporter.write_line(f"hostile input over HTTP: {module.summary()}")


@pytest.fixture(scope="session")
def built_engine() -> Any:
    """The real local engine on the built assets (skips when they are not built)."""
    from nlp.base import EngineError
    from nlp.local import LocalEngine
    from nlp.local.assets import assets_dir

    try:
        return LocalEngine.from_assets(assets_dir())
    except EngineError as exc:
        pytest.skip(f"local assets not built ({exc}): run `docref-nlp models build`")
