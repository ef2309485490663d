"""Rich tables and the JSON document of an evaluation run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}"


def span_table(corpus: dict[str, Any]) -> Table:
    """Per category and type: gold, pred, strict and overlap P/R/F1 (percent)."""
    timing = corpus.get("timing", {})
    title = (
        f"{corpus['corpus']}: {corpus['documents']} docs, "
        f"{timing.get('docs_per_second', '-')} docs/s, {corpus.get('errors', 0)} errors"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("category / type", no_wrap=True)
    for col in ("gold", "pred"):
        table.add_column(col, justify="right")
    for mode in ("strict", "overlap"):
        for m in ("P", "R", "F1"):
            table.add_column(f"{mode[0].upper()}-{m}", justify="right", min_width=5)
    spans = corpus["spans"]
    rows: list[str] = ["ALL"]
    cats = [k for k in spans["strict"]["category"] if k != "ALL"]
    types = list(spans["strict"]["type"])
    for cat in sorted(cats):
        rows.append(cat)
        rows.extend(t for t in sorted(types) if t.startswith(cat + "/") and t != cat + "/")
    for key in rows:
        level = "type" if "/" in key else "category"
        strict = spans["strict"][level].get(key)
        overlap = spans["overlap"][level].get(key)
        if strict is None or overlap is None:
            continue
        label = "  " + key.split("/", 1)[1] if "/" in key else key
        table.add_row(
            label,
            str(strict["gold"]),
            str(strict["pred"]),
            *(_pct(strict[m]) for m in ("precision", "recall", "f1")),
            *(_pct(overlap[m]) for m in ("precision", "recall", "f1")),
        )
    return table


def code_table(corpus: dict[str, Any]) -> Table | None:
    """Code accuracy per gold system (percent of evaluable gold mentions)."""
    codes = corpus.get("codes") or {}
    if not codes:
        return None
    table = Table(title=f"{corpus['corpus']}: codes", title_justify="left")
    table.add_column("gold system", no_wrap=True)
    for col in ("gold", "evaluable", "span found", "top-1", "top-5", "top-1|span"):
        table.add_column(col, justify="right")
    for key, c in codes.items():
        table.add_row(
            key,
            str(c["gold"]),
            str(c["evaluable"]),
            str(c["span_found"]),
            _pct(c["top1_accuracy"]),
            _pct(c["top5_accuracy"]),
            _pct(c["top1_given_span"]),
        )
    return table


def _trait_part(name: str, c: dict[str, Any]) -> str:
    """``NEGATION P.. R..``, or with an annotated label ``NEGATION (negated) P R F1 acc n``."""
    if "accuracy" not in c:
        return f"{name} P{_pct(c['precision'])} R{_pct(c['recall'])}"
    return (
        f"{name} ({c['label']}) P{_pct(c['precision'])} R{_pct(c['recall'])} "
        f"F1 {_pct(c['f1'])} acc {_pct(c['accuracy'])} (n={c['judged']}, gold+ {c['gold']})"
    )


def extra_lines(corpus: dict[str, Any]) -> list[str]:
    """Label recall, trait agreement and condition recall as short lines."""
    lines: list[str] = []
    labels = corpus.get("labels") or {}
    if labels:
        parts = [
            f"{k} {_pct(v['recall'])}/{_pct(labels['overlap'][k]['recall'])} (n={v['gold']})"
            for k, v in labels["strict"].items()
        ]
        lines.append("recall by label, strict/overlap: " + ", ".join(parts))
    traits = corpus.get("traits") or {}
    if traits:
        per = ", ".join(_trait_part(k, v) for k, v in traits["per_trait"].items())
        lines.append(
            f"traits: exact-set accuracy {_pct(traits['exact_set_accuracy'])} over "
            f"{traits['pairs']} matched pairs; {per}"
        )
    cond = corpus.get("conditions") or {}
    if cond:
        lines.append(
            f"encounter conditions: {cond['coded']} coded, {cond['in_text']} in text, "
            f"{cond['found']} found (recall {_pct(cond['recall_in_text'])}), "
            f"ICD-10-CM top-1 credited {_pct(cond['icd_top1_recall'])} "
            f"of {cond['icd_evaluable']} in eCQM value sets"
        )
    lines.extend(corpus.get("notes") or [])
    return lines


def print_report(report: dict[str, Any], console: Console) -> None:
    """Print every corpus of a report."""
    engine = report.get("engine", {})
    console.print(f"engine {engine.get('name')} {engine.get('version')}, split {report['split']}")
    for corpus in report["corpora"].values():
        console.print(span_table(corpus))
        table = code_table(corpus)
        if table is not None:
            console.print(table)
        for line in extra_lines(corpus):
            console.print(f"  {line}")
    for name, reason in report.get("skipped", {}).items():
        console.print(f"[yellow]skipped {name}: {reason}[/yellow]")


def write_json(report: dict[str, Any], path: Path) -> None:
    """Write the report canonically (sorted keys, 2-space indent)."""
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
