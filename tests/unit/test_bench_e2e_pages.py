"""``bench-e2e --pages``: each commit's WAL pages are named by the B-tree that holds them right
after that commit."""

from __future__ import annotations

import collections
import struct
from pathlib import Path

from cli.bench.e2e import count_pages, wal_pass
from tests.fakes import FakeEngine


def _frame(page_number: int, page_size: int) -> bytes:
    return struct.pack(">I", page_number) + bytes(20) + bytes(page_size)


def test_frames_are_counted_by_their_page_owner_and_unknown_pages_as_freed() -> None:
    counted: collections.Counter[str] = collections.Counter()
    frames = _frame(3, 512) + _frame(7, 512) + _frame(3, 512)
    count_pages(counted, frames, {3: "resources", 5: "history"}, 512)
    assert counted == {"resources": 2, "(freed)": 1}


def test_a_torn_last_frame_is_not_counted() -> None:
    counted: collections.Counter[str] = collections.Counter()
    count_pages(counted, _frame(3, 512) + b"\x00\x00\x00\x09", {3: "resources"}, 512)
    assert counted == {"resources": 1}


def test_every_page_each_commit_writes_is_named(tmp_path: Path) -> None:
    notes = ["Patient has a headache.", "Takes aspirin daily.", "No complaints today."]
    figures = wal_pass(FakeEngine(), notes, tmp_path / "wal.sqlite", pages=True)
    assert len(figures.bytes_per_doc) == len(notes)
    frame = figures.page_size + 24
    assert all(b > 0 and b % frame == 0 for b in figures.bytes_per_doc)
    assert sum(figures.pages.values()) * frame == sum(figures.bytes_per_doc)
    assert figures.pages["resources"] >= len(notes)  # each commit writes its document's row
