"""Measure the largest note the service analyses (``max_note_chars``) with the local engine.

Builds a note of ``--chars`` characters (default 200,000: the default limit) by repeating the
repository's synthetic sample notes (``samples/notes/*.txt``), starts the service in this
process on a temporary SQLite file under uvicorn, PUTs the note as a DocumentReference while
another thread polls ``/status`` and ``/livez``, and prints one JSON line: seconds, peak RSS
and its growth over the loaded service, generated resources, index rows, stored document
size, and the slowest ``/status`` answer during the write.

    PYTHONPATH=. .venv/bin/python scripts/measure_long_note.py [--chars 200000]
"""

from __future__ import annotations

import argparse
import base64
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from api.app import create_app
from api.settings import Settings
from enrich.extensions import read_index_rows
from tests.api.live import serve

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """Current resident set size (MB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def note(chars: int) -> str:
    parts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "samples/notes").glob("*.txt"))]
    text = ""
    while len(text) < chars:
        text += "\n\n".join(parts) + "\n\n"
    return text[:chars]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=200_000)
    parser.add_argument("--limit", type=int, default=None, help="max_note_chars (default --chars)")
    args = parser.parse_args()
    text = note(args.chars)
    doc = {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": {"reference": "Patient/measure"},
        "content": [{"attachment": {"contentType": "text/plain",
                                    "data": base64.b64encode(text.encode()).decode()}}],
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            db_path=str(Path(tmp) / "m.sqlite"),
            intake_workers=0,
            max_note_chars=args.limit or args.chars,
            max_body_bytes=64 * 1024 * 1024,
        )
        app = create_app(settings)
        with serve(app, timeout_s=300) as base, httpx.Client(base_url=base, timeout=600) as http:
            short = base64.b64encode(b"Chest pain, aspirin 81 mg.").decode()
            warm = {
                **doc,
                "content": [{"attachment": {"contentType": "text/plain", "data": short}}],
            }
            http.put("/DocumentReference/warm", json=warm).raise_for_status()
            loaded, peak_before = rss_mb(), peak_mb()
            slowest, polls, done = 0.0, 0, threading.Event()

            def poll() -> None:
                nonlocal slowest, polls
                with httpx.Client(base_url=base, timeout=60) as probe:
                    while not done.is_set():
                        began = time.perf_counter()
                        probe.get("/status").raise_for_status()
                        slowest = max(slowest, time.perf_counter() - began)
                        polls += 1
                        time.sleep(0.05)

            poller = threading.Thread(target=poll)
            poller.start()
            cpu0, began = time.process_time(), time.perf_counter()
            response = http.put("/DocumentReference/long", json=doc)
            seconds, cpu = time.perf_counter() - began, time.process_time() - cpu0
            done.set()
            poller.join()
            response.raise_for_status()
            stored = http.get("/DocumentReference/long")
            rows = len(read_index_rows(stored.json()))
            state = app.state.index.state("long")
            generated = http.get(
                "/DocumentReference",
                params={"_id": "long", "_include": "DocumentReference:nlp-generated",
                        "_summary": "false", "_count": "1"},
            ).json()  # fmt: skip
    entities = (state.result or {}).get("DetectEntitiesV2", {}).get("Entities", []) if state else []
    figures = {
        "chars": len(text),
        "status": response.headers.get("x-nlp-status"),
        "seconds": round(seconds, 1),
        "cpu_s": round(cpu, 1),
        "rss_loaded_mb": round(loaded, 0),
        "peak_rss_mb": round(peak_mb(), 0),
        "peak_growth_mb": round(peak_mb() - max(loaded, peak_before), 0),
        "included_first_page": sum(
            e["search"]["mode"] == "include" for e in generated.get("entry", [])
        ),
        "index_rows": rows,
        "result_entities": len(entities),
        "stored_document_mb": round(len(stored.content) / 1e6, 1),
        "status_polls": polls,
        "slowest_status_s": round(slowest, 3),
    }
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
