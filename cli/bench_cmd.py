"""``docref-nlp bench``: local engine throughput, tokenizer baseline, cold start and peak memory."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import typer

from cli.main import app

_NAMES = ["John Miller", "Maria Garcia", "Robert Chen", "Linda Okafor", "James Patel"]
_CONDITIONS = [
    "hypertension",
    "type 2 diabetes mellitus",
    "congestive heart failure",
    "atrial fibrillation",
    "chronic kidney disease",
    "COPD",
    "asthma",
    "pneumonia",
    "urinary tract infection",
    "major depressive disorder",
    "hyperlipidemia",
    "osteoarthritis of the knee",
    "migraine",
    "gastroesophageal reflux disease",
    "coronary artery disease",
    "acute kidney injury",
    "cellulitis of the left leg",
    "anemia",
    "hypothyroidism",
    "obstructive sleep apnea",
]
_SYMPTOMS = [
    "chest pain",
    "shortness of breath",
    "nausea",
    "vomiting",
    "headache",
    "dizziness",
    "fatigue",
    "cough",
    "fever",
    "abdominal pain",
    "back pain",
    "swelling of both legs",
    "palpitations",
    "loss of appetite",
    "burning on urination",
]
_MEDS = [
    ("lisinopril", "10 mg", "daily"),
    ("metformin", "500 mg", "twice daily"),
    ("atorvastatin", "40 mg", "at bedtime"),
    ("aspirin", "81 mg", "daily"),
    ("furosemide", "20 mg", "every morning"),
    ("metoprolol", "25 mg", "BID"),
    ("levothyroxine", "75 mcg", "daily"),
    ("albuterol", "2 puffs", "every 4 hours as needed"),
    ("amoxicillin", "500 mg", "three times daily for 10 days"),
    ("warfarin", "5 mg", "daily"),
    ("omeprazole", "20 mg", "daily"),
    ("insulin glargine", "20 units", "at bedtime"),
]
_TESTS = [
    ("Hemoglobin", "11.2 g/dL"),
    ("Creatinine", "1.4 mg/dL"),
    ("Potassium", "4.1 mmol/L"),
    ("Sodium", "138 mmol/L"),
    ("WBC", "12.3 K/uL"),
    ("Glucose", "182 mg/dL"),
    ("BP", "142/88 mmHg"),
    ("HR", "96 bpm"),
    ("Temperature", "38.2 C"),
    ("A1c", "8.1 %"),
]


def synthetic_note(rng: random.Random, size: int) -> str:
    """A deterministic synthetic clinical note of about ``size`` characters."""
    parts: list[str] = []
    while sum(len(p) for p in parts) < size:
        name = rng.choice(_NAMES)
        cond = rng.sample(_CONDITIONS, 4)
        sym = rng.sample(_SYMPTOMS, 4)
        meds = rng.sample(_MEDS, 3)
        tests = rng.sample(_TESTS, 4)
        day = rng.randint(1, 28)
        parts.append(
            f"Chief Complaint: {sym[0]} for {rng.randint(2, 9)} days.\n\n"
            f"History of Present Illness: {name} is a {rng.randint(30, 88)} year old patient "
            f"seen on {rng.randint(1, 12)}/{day}/2024 who complains of {sym[0]} and {sym[1]}. "
            f"She denies {sym[2]} or {sym[3]}. No evidence of {cond[3]}.\n\n"
            f"Past Medical History: {cond[0]}, {cond[1]}. Family history of {cond[2]} "
            f"in her mother.\n\n"
            f"Medications: {meds[0][0]} {meds[0][1]} by mouth {meds[0][2]}; "
            f"{meds[1][0]} {meds[1][1]} {meds[1][2]}. She stopped taking {meds[2][0]}.\n\n"
            f"Labs: {tests[0][0]} {tests[0][1]}, {tests[1][0]} {tests[1][1]}, "
            f"{tests[2][0]} {tests[2][1]}. {tests[3][0]} was {tests[3][1]}.\n\n"
            f"Assessment and Plan: {cond[0]}, possible {cond[3]}. Continue {meds[0][0]}. "
            f"Chest x-ray today. If {sym[1]} worsens she should return. "
            f"Call Dr. {name.split()[1]} at "
            f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}.\n"
        )
    return "".join(parts)


def _rate(fn: Any, items: list[str], min_seconds: float) -> float:
    """Items per second of ``fn`` over ``items``, repeated for at least ``min_seconds``."""
    done = 0
    started = time.perf_counter()
    while True:
        for item in items:
            fn(item)
        done += len(items)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return done / elapsed


_COLD = """
import json, resource, sys, time
t0 = time.perf_counter()
c0 = time.process_time()
from pathlib import Path
from nlp.local import LocalEngine
engine = LocalEngine.from_assets(Path(sys.argv[1]) if sys.argv[1] else None)
engine.analyze("Patient denies chest pain.")
load = time.perf_counter() - t0
load_cpu = time.process_time() - c0
notes = json.loads(sys.stdin.read())
t1 = time.perf_counter()
for n in notes:
    engine.analyze(n)
first = len(notes) / (time.perf_counter() - t1)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cold_start_s": load, "cold_start_cpu_s": load_cpu, "peak_rss_mb": rss,
                  "first_pass_per_s": first}))
"""


def _cold_start(assets: Path | None, notes: list[str]) -> dict[str, float]:
    """Load the engine in a fresh process (twice: the first run may compile its cache)."""
    stats: dict[str, float] = {}
    for _ in range(2):
        run = subprocess.run(
            [sys.executable, "-c", _COLD, str(assets or "")],
            input=json.dumps(notes),
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            typer.echo(f"[NLP510] engine failed to load: {run.stderr.strip()[-500:]}", err=True)
            raise typer.Exit(2)
        stats = json.loads(run.stdout.strip().splitlines()[-1])
    return stats


@app.command("bench")
def bench(
    assets: Path | None = typer.Option(None, "--assets", help="Assets directory (default: built)."),
    notes: int = typer.Option(50, "--notes", help="Distinct synthetic notes per size."),
    seconds: float = typer.Option(3.0, "--seconds", help="Minimum timing per measurement."),
    seed: int = typer.Option(7, "--seed", help="Random seed of the synthetic notes."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Measure the local engine on synthetic ~2 KB and ~20 KB notes (one core).

    Steady-state rates are taken after one warm-up pass (linker caches filled); the fresh
    process also reports its first pass over the 2 KB notes (cold caches), its load time in
    wall-clock and CPU seconds (CPU excludes waiting on a busy machine) and its peak RSS.
    """
    from nlp.local import LocalEngine

    rng = random.Random(seed)
    small = [synthetic_note(rng, 2000)[:2048] for _ in range(notes)]
    large = [synthetic_note(rng, 20000)[:20480] for _ in range(max(5, notes // 10))]
    cold = _cold_start(assets, small)
    engine = LocalEngine.from_assets(assets)
    tokenizer = engine.nlp.tokenizer
    for n in small + large:
        engine.analyze(n)
    tok_small = _rate(tokenizer, small, seconds)
    eng_small = _rate(engine.analyze, small, seconds)
    tok_large = _rate(tokenizer, large, seconds)
    eng_large = _rate(engine.analyze, large, seconds)
    report = {
        "engine_version": engine.version,
        "notes_2kb_per_s": round(eng_small, 1),
        "tokenizer_2kb_per_s": round(tok_small, 1),
        "ratio_2kb": round(eng_small / tok_small, 3),
        "notes_20kb_per_s": round(eng_large, 1),
        "tokenizer_20kb_per_s": round(tok_large, 1),
        "ratio_20kb": round(eng_large / tok_large, 3),
        "first_pass_2kb_per_s": round(cold["first_pass_per_s"], 1),
        "cold_start_s": round(cold["cold_start_s"], 2),
        "cold_start_cpu_s": round(cold["cold_start_cpu_s"], 2),
        "peak_rss_mb": round(cold["peak_rss_mb"], 1),
        "budget": {
            "notes_2kb_per_s": 200,
            "ratio_2kb": 0.2,
            "cold_start_s": 5.0,
            "peak_rss_mb": 1024,
        },
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    rows = [
        ("local engine, 2 KB notes/s", report["notes_2kb_per_s"], ">= 200"),
        ("spaCy tokenizer only, 2 KB notes/s", report["tokenizer_2kb_per_s"], ""),
        ("engine / tokenizer, 2 KB", report["ratio_2kb"], ">= 0.20"),
        ("local engine, 20 KB notes/s", report["notes_20kb_per_s"], ""),
        ("spaCy tokenizer only, 20 KB notes/s", report["tokenizer_20kb_per_s"], ""),
        ("engine / tokenizer, 20 KB", report["ratio_20kb"], ""),
        ("first pass, cold caches, 2 KB notes/s", report["first_pass_2kb_per_s"], ""),
        ("cold start (fresh process), s", report["cold_start_s"], "<= 5"),
        ("cold start, CPU s", report["cold_start_cpu_s"], ""),
        ("peak RSS (fresh process), MB", report["peak_rss_mb"], "<= 1024"),
    ]
    typer.echo(f"engine {report['engine_version']}")
    for label, value, budget in rows:
        typer.echo(f"{label:<40} {value!s:>10}  {budget}")
