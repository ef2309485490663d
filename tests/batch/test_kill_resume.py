"""Kill-and-resume: a run over 2,000 documents killed (SIGKILL) midway, then resumed, writes
every document exactly once and no generated resource twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from api.batch.checkpoint import Checkpoint
from tests.batch.fake_engine import SPEC
from tests.batch.synth import documents, write_ndjson
from tests.conftest import ROOT

COUNT = 2000


def _command(src: Path, out: Path, ck: Path, report: Path) -> list[str]:
    return [
        sys.executable, "-c", "from cli.main import app; app()", "reprocess",
        "--from", str(src), "--to", str(out), "--engine", SPEC, "--checkpoint", str(ck),
        "--workers", "2", "--part-size", "100", "--no-progress", "--report-json", str(report),
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "DOCREF_NLP_DB_PATH": ":memory:"}


def _parts(out: Path) -> list[Path]:
    return sorted((out / "import" / "DocumentReference").glob("part-*.ndjson"))


def _start_until_parts(
    tmp_path: Path, parts: int
) -> tuple[subprocess.Popen[bytes], Path, Path, Path, Path]:
    """Start a run over COUNT documents and return once ``parts`` parts are written."""
    src = write_ndjson(tmp_path / "export" / "DocumentReference-0.ndjson", documents(COUNT))
    out, ck, report = tmp_path / "out", tmp_path / "ck.sqlite", tmp_path / "report.json"
    proc = subprocess.Popen(
        _command(src, out, ck, report), cwd=ROOT, env=_env(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while len(_parts(out)) < parts and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc, src, out, ck, report


def test_sigkill_midway_then_resume_gives_each_document_once(tmp_path: Path) -> None:
    proc, src, out, ck, report = _start_until_parts(tmp_path, 3)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes
    proc.wait(timeout=30)
    assert not report.exists()
    killed_parts = len(_parts(out))
    assert 3 <= killed_parts < COUNT // 100

    done = subprocess.run(
        _command(src, out, ck, report), cwd=ROOT, env=_env(), capture_output=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    summary = json.loads(report.read_text())
    assert summary["outcomes"]["skipped-checkpoint"] >= 200
    assert summary["outcomes"]["skipped-checkpoint"] + summary["outcomes"]["enriched"] == COUNT

    ids: Counter[str] = Counter()
    for path in out.rglob("*.ndjson"):
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n")  # no half line
        for line in text.splitlines():
            resource = json.loads(line)
            ids[f"{resource['resourceType']}/{resource['id']}"] += 1
    assert not list(out.rglob(".*tmp*"))
    documents_written = [ref for ref in ids if ref.startswith("DocumentReference/")]
    assert len(documents_written) == COUNT
    duplicates = {ref: n for ref, n in ids.items() if n > 1}
    assert duplicates == {}
    checkpoint = Checkpoint(ck, source=f"ndjson:{src}", engine="fake-keyword@1.0")
    assert checkpoint.done_count() == COUNT
    assert checkpoint.open_parts() == []


def test_sigterm_finishes_the_current_part_and_reports(tmp_path: Path) -> None:
    proc, src, _, ck, report = _start_until_parts(tmp_path, 2)
    proc.send_signal(signal.SIGTERM)  # the run only, as a service manager would
    assert proc.wait(timeout=60) == 3
    summary = json.loads(report.read_text())
    assert summary["stopped"].startswith("[NLP661]")
    enriched = summary["outcomes"]["enriched"]
    assert 200 <= enriched < COUNT
    checkpoint = Checkpoint(ck, source=f"ndjson:{src}", engine="fake-keyword@1.0")
    assert checkpoint.done_count() == enriched  # every result received was written
    assert checkpoint.open_parts() == []
