"""The doctests of the intake, webhook and upstream modules (pytest does not collect them)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "api.intake.queue",
        "api.intake.workers",
        "api.intake.notifications",
        "api.store.http",
        "api.store.healthlake",
    ],
)
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
