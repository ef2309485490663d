"""Entry point of the ``docref-nlp`` command: one Typer app; every command registered here.

Command modules import heavy libraries inside their functions, so ``docref-nlp --help`` is fast.
"""

from __future__ import annotations

import typer

from cli import analyze_cmd, enrich_cmd, eval_cmd, models_cmd, reprocess_cmd, serve_cmd
from cli.bench import api as bench_api
from cli.bench import batch as bench_batch
from cli.bench import e2e as bench_e2e
from cli.bench import engine as bench_engine
from cli.bench import search as bench_search
from cli.bench import stores as bench_stores

app = typer.Typer(
    name="docref-nlp",
    help="Clinical NLP enrichment for FHIR R4 DocumentReference (HealthLake-compatible).",
    no_args_is_help=True,
    add_completion=False,
)

app.command("serve")(serve_cmd.serve_command)
app.command("analyze")(analyze_cmd.analyze)
app.command("enrich")(enrich_cmd.enrich)
app.command("reprocess", help=reprocess_cmd.HELP)(reprocess_cmd.reprocess_command)
app.add_typer(models_cmd.models_app, name="models")
app.command("eval")(eval_cmd.eval_command)
app.command("bench")(bench_engine.bench)
app.command("bench-api")(bench_api.bench_api)
app.command("bench-e2e")(bench_e2e.bench_e2e)
app.command("bench-stores")(bench_stores.bench_stores)
app.command("bench-batch")(bench_batch.bench_batch)
app.command("bench-search")(bench_search.bench_search)
