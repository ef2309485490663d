"""Entry point of the ``docref-nlp`` command: one Typer app, one module per command group.

Command modules import heavy libraries inside their functions, so ``docref-nlp --help`` is fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="docref-nlp",
    help="Clinical NLP enrichment for FHIR R4 DocumentReference (HealthLake-compatible).",
    no_args_is_help=True,
    add_completion=False,
)

# Each command module registers itself on ``app`` when imported.
from cli import commands  # noqa: E402,F401
