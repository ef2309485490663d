"""The service settles its heap once its engine is built: what start-up made leaves the cyclic
collector's generations (``gc.freeze``), garbage made later is still collected."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.bootstrap import YOUNG_GC_THRESHOLD, build_engine, settle_heap
from api.settings import Settings
from tests.fakes import FakeEngine


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()  # the rest of the test session collects as before
    gc.set_threshold(*threshold)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settled_objects_leave_the_collector_and_new_garbage_is_collected(unfrozen: None) -> None:
    kept = [_Cycle() for _ in range(100)]
    settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    assert not any(gc.is_tracked(c) and c in gc.get_objects(generation=2) for c in kept[:3])
    _Cycle()  # garbage made after: a cycle the collector still finds
    assert gc.collect() >= 1


def test_the_service_engine_is_built_then_settled(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("api.bootstrap.engine_from_spec", lambda *a, **k: FakeEngine({}))
    assert gc.get_freeze_count() == 0
    engine = build_engine(Settings(engine="replay:/nowhere"))
    assert gc.get_freeze_count() > 0
    assert engine.name


def test_the_youngest_generation_holds_one_notes_objects(unfrozen: None) -> None:
    gc.set_threshold(700, 10, 10)
    settle_heap()
    assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, 10, 10)
    gc.set_threshold(50_000, 5, 5)  # a larger threshold set by the operator stays
    settle_heap()
    assert gc.get_threshold() == (50_000, 5, 5)
    assert gc.isenabled()
    _Cycle()
    assert gc.collect() >= 1  # cycles are still collected
