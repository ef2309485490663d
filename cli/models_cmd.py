"""``docref-nlp models build|info``: build the local engine's terminology assets (offline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

models_app = typer.Typer(
    help="Build and inspect the local engine's terminology assets.", no_args_is_help=True
)


@models_app.command("build")
def build(
    rxnorm_rrf: Annotated[
        Path | None,
        typer.Option(
            help="Directory of an RxNorm RRF release (RXNCONSO.RRF, RXNREL.RRF).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    icd10cm_index: Annotated[
        Path | None,
        typer.Option(
            help="CMS ICD-10-CM alphabetic index XML (icd10cm_index_*.xml).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Rebuild even when the assets are up to date.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Assets directory (default: $DOCREF_NLP_ASSETS).")
    ] = None,
) -> None:
    """Build lexicon and linker indices; a no-op when the inputs have not changed."""
    from models.build import build_assets, fingerprint, up_to_date
    from nlp.local.assets import assets_dir

    target = out or assets_dir()
    if not force and up_to_date(target, fingerprint(rxnorm_rrf, icd10cm_index, None)):
        typer.echo(f"models: up to date in {target}")
        return

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]models build[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    ) as bar:
        task = bar.add_task("starting", total=5)

        def progress(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        report = build_assets(
            target,
            rxnorm_rrf=rxnorm_rrf,
            icd10cm_index=icd10cm_index,
            force=force,
            progress=progress,
        )
    counts = report.manifest.get("counts", {})
    typer.echo(
        f"models: built in {report.seconds:.1f} s into {target}: "
        f"{counts.get('icd10cm_billable', 0)} ICD-10-CM codes, "
        f"{sum(counts.get('rxnorm_concepts', {}).values())} RxNorm concepts "
        f"({report.manifest.get('sources', {}).get('rxnorm_source', '?')}), "
        f"{counts.get('lexicon_terms', 0)} lexicon terms"
    )


@models_app.command("info")
def info(
    out: Annotated[
        Path | None, typer.Option(help="Assets directory (default: $DOCREF_NLP_ASSETS).")
    ] = None,
) -> None:
    """Print the manifest of the built assets (sources, counts, held-out figures)."""
    from models.build import read_manifest
    from nlp.local.assets import assets_dir

    target = out or assets_dir()
    manifest = read_manifest(target)
    if manifest is None:
        typer.echo(f"[NLP145] no assets in {target}: run `docref-nlp models build`", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(manifest, indent=2, sort_keys=True))


@models_app.command("check")
def check(
    out: Annotated[
        Path | None, typer.Option(help="Assets directory (default: $DOCREF_NLP_ASSETS).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Evaluation data (default: ../shared/data next to the repository)."),
    ] = None,
    sample: Annotated[
        int, typer.Option(help="Mentions per linker for the latency figures.")
    ] = 2000,
) -> None:
    """Print load time, memory, link latency and accuracy figures of the built linkers (JSON)."""
    from models.check import run_check
    from nlp.local.assets import assets_dir
    from nlp.local.lexicon import AssetsMissingError

    default_data = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    try:
        report = run_check(
            out or assets_dir(), data or (default_data if default_data.exists() else None), sample
        )
    except AssetsMissingError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(report, indent=2, sort_keys=True))
