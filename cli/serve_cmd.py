"""``docref-nlp serve``: run the FHIR service (uvicorn) on the embedded SQLite store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Bind address (env DOCREF_NLP_HOST; default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="TCP port (env DOCREF_NLP_PORT; 8080).")
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="SQLite file (env DOCREF_NLP_DB_PATH; ~/.local/share/docref-nlp/).",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(help="local[:ASSETS] | comprehend | replay:PATH (env DOCREF_NLP_ENGINE)."),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="clinical | healthlake (env DOCREF_NLP_PROFILE).")
    ] = None,
    load_samples: Annotated[
        bool | None,
        typer.Option(
            "--load-samples/--no-load-samples",
            help="Load samples/*.json at start-up, idempotently (env DOCREF_NLP_LOAD_SAMPLES).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="TOML settings file (env DOCREF_NLP_CONFIG).", exists=True),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="Logging level (env DOCREF_NLP_LOG_LEVEL; INFO).")
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(help="text | json: one JSON object per line (env DOCREF_NLP_LOG_FORMAT)."),
    ] = None,
) -> None:
    """Serve the FHIR API with NLP enrichment and search (binds to 127.0.0.1 by default)."""
    import uvicorn

    from api.app import create_app
    from api.observability import configure_logging
    from api.settings import Settings, SettingsError, check_db_path
    from api.store.dsn import redact_url

    try:
        settings = Settings.from_env(
            config_file=config,
            host=host,
            port=port,
            db_path=str(db) if db is not None else None,
            engine=engine,
            profile=profile,
            load_samples=load_samples,
            log_level=log_level,
            log_format=log_format,
        )
        settings.check_exposure()
        check_db_path(settings.db_path)
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    # text or JSON lines; exceptions as class and frame only (their messages may quote input)
    configure_logging(settings.log_level, settings.log_format)
    typer.echo(
        f"docref-nlp: http://{settings.host}:{settings.port}/ "
        f"(engine {settings.engine}, profile {settings.profile}, "
        f"db {redact_url(settings.db_path)})",
        err=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,  # query strings may carry PHI; api.app logs route templates instead
        log_level=settings.log_level.lower(),
        log_config=None,  # keep configure_logging's handlers (JSON lines included)
    )
