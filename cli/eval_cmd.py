"""``docref-nlp eval``: precision/recall/F1, code and trait accuracy of an engine on the corpora."""

from __future__ import annotations

from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

_REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = _REPO.parent / "shared" / "data"


class CorpusName(StrEnum):
    bc5cdr = "bc5cdr"
    ncbi = "ncbi"
    deid = "deid"
    synthea = "synthea"
    comprehend = "comprehend"
    notes = "notes"
    all = "all"


class Split(StrEnum):
    dev = "dev"
    train = "train"
    test = "test"
    all = "all"


def eval_command(
    corpus: Annotated[CorpusName, typer.Option(help="Corpus to evaluate on.")] = CorpusName.all,
    split: Annotated[
        Split,
        typer.Option(
            help="bc5cdr / ncbi: train, dev or all; notes and deid: dev, test or all by patient"
            " (test: final report only, never tune on it)."
        ),
    ] = Split.dev,
    engine: Annotated[str, typer.Option(help="Engine spec given to make_engine.")] = "local",
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N documents of each corpus.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the full report as JSON here.")
    ] = None,
    data_dir: Annotated[
        Path, typer.Option(help="Folder with bc5cdr/, ncbi-disease/, deid/, ecqm-valuesets/.")
    ] = DEFAULT_DATA_DIR,
    synthea_patients: Annotated[int, typer.Option(min=1, help="Synthea population.")] = 5,
    synthea_seed: Annotated[int, typer.Option(help="Synthea seed.")] = 42,
) -> None:
    """Evaluate an NLP engine: span P/R/F1 (strict and overlap), codes top-1/5, traits."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from nlp.base import EngineError
    from nlp.evaluation.report import print_report, write_json
    from nlp.evaluation.runner import (
        CORPORA,
        CorpusUnavailableError,
        default_judge,
        evaluate,
        load_corpus,
    )

    console = Console()
    console.width = max(console.width, 120)  # tables stay readable when piped
    try:
        from nlp.factory import make_engine  # type: ignore[import-not-found,unused-ignore]

        nlp_engine = make_engine(engine)
    except (ImportError, EngineError) as exc:
        console.print(f"[red][NLP741] cannot build engine {engine!r}: {exc}[/red]")
        raise typer.Exit(2) from exc

    names = list(CORPORA) if corpus is CorpusName.all else [corpus.value]
    judge = default_judge(data_dir, nlp_engine)
    report: dict[str, Any] = {
        "engine": {"name": nlp_engine.name, "version": nlp_engine.version, "spec": engine},
        "split": split.value,
        "limit": limit,
        "corpora": {},
        "skipped": {},
    }
    for name in names:
        try:
            loaded = load_corpus(
                name,
                split.value,
                data_dir,
                limit=limit,
                synthea_patients=synthea_patients,
                synthea_seed=synthea_seed,
            )
        except CorpusUnavailableError as exc:
            report["skipped"][name] = str(exc)
            continue
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(name, total=len(loaded.documents))
            run = evaluate(nlp_engine, loaded, judge, on_progress=partial(progress.advance, task))
        report["corpora"][name] = run.as_dict()
    print_report(report, console)
    if json_path is not None:
        write_json(report, json_path)
        console.print(f"report written to {json_path}")
    if not report["corpora"]:
        raise typer.Exit(1)
