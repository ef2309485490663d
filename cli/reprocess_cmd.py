"""``docref-nlp reprocess``: batch (re-)processing of DocumentReferences at any scale."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from api.batch.runner import Report
    from api.batch.sinks import ResultSink
    from api.batch.sources import DocumentSource
    from api.settings import Settings

log = logging.getLogger(__name__)

HELP = (
    "Re-process DocumentReferences in bulk: skip unchanged ones, resume after a kill, estimate "
    "Comprehend Medical cost, run on worker processes or a Ray cluster (docs/batch.md).\n\n"
    "--from / --to: 'store' (the service SQLite store), 'upstream' (the configured upstream "
    "FHIR server) or an http(s):// FHIR base URL, or a local path / s3://bucket/prefix of FHIR "
    "bulk NDJSON ($export or HealthLake export output; as a sink: NDJSON per resource type "
    "under import/, ready for HealthLake StartFHIRImportJob, and deletions/)."
)


def _is_fhir_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _is_location(value: str) -> bool:
    return not _is_fhir_url(value) and value not in ("store", "upstream")


def _service_store(settings: Settings) -> Any:
    from api.bootstrap import open_service_store  # SQLite file or postgresql:// URL (D10)

    return open_service_store(settings)[1]


def _upstream_store(settings: Settings, url: str | None, token: str | None) -> tuple[Any, str]:
    import httpx

    from api.bootstrap import build_upstream
    from api.store.base import StoreError

    try:
        store = build_upstream(
            settings, url=url, token=token, required=True, timeout=httpx.Timeout(60.0)
        )
    except StoreError as exc:
        raise typer.BadParameter(f"[NLP670] {exc.args[0]}") from exc
    if store is None:  # pragma: no cover - required=True always names a server
        raise typer.BadParameter("[NLP670] no upstream FHIR server")
    if url is None and settings.upstream == "healthlake":
        return store, store.base_url
    return store, str(url or settings.upstream_url)  # as written: the checkpoint's source key


def _source(
    spec: str, query: str, settings: Settings, token: str | None, endpoint: str | None
) -> DocumentSource:
    from api.batch.sources import NdjsonSource, SearchSource
    from api.batch.storage import open_storage

    if spec == "store":
        return SearchSource(_service_store(settings), query, name="store")
    if spec == "upstream" or _is_fhir_url(spec):
        store, base = _upstream_store(settings, None if spec == "upstream" else spec, token)
        return SearchSource(store, query, name=f"upstream:{base}")
    if query:
        raise typer.BadParameter("[NLP671] --query applies to store/upstream sources only")
    if not spec.startswith("s3://") and not Path(spec).expanduser().exists():
        raise typer.BadParameter(f"[NLP673] --from {spec}: no such file or folder")
    return NdjsonSource(open_storage(spec, endpoint_url=endpoint, region=settings.aws_region))


def _sink(
    spec: str, settings: Settings, token: str | None, endpoint: str | None, *, same_store: bool
) -> ResultSink:
    from api.batch.sinks import NdjsonSink, StoreSink, UpstreamSink
    from api.batch.storage import open_storage

    if spec == "store":
        return StoreSink(_service_store(settings), if_match=same_store)
    if spec == "upstream" or _is_fhir_url(spec):
        store, base = _upstream_store(settings, None if spec == "upstream" else spec, token)
        return UpstreamSink(store, name=base)
    return NdjsonSink(open_storage(spec, endpoint_url=endpoint, region=settings.aws_region))


def default_checkpoint(source_key: str, sink_key: str, engine: str) -> Path:
    """``~/.local/share/docref-nlp/reprocess/<hash of source, sink, engine spec>.sqlite``."""
    from api.settings import default_db_path

    digest = hashlib.sha256(f"{source_key}\n{sink_key}\n{engine}".encode()).hexdigest()[:16]
    return default_db_path().parent / "reprocess" / f"{digest}.sqlite"


class _RichProgress:
    """A rich progress bar: documents, rate, ETA, and the running outcome counts."""

    def __init__(self, total: int | None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]reprocess"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[counts]}"),
            transient=False,
        )
        self._task = self._progress.add_task("docs", total=total, rate="", counts="")
        self._progress.start()
        self._last = 0.0

    def update(self, report: Report) -> None:
        import time

        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        task = self._progress.tasks[0]
        speed = task.speed or 0.0
        counts = " ".join(f"{k.split('-')[-1]}={v}" for k, v in sorted(report.outcomes.items()))
        self._progress.update(
            self._task, completed=report.documents, rate=f"{speed:7.1f} docs/s", counts=counts
        )

    def close(self, report: Report) -> None:
        self._last = 0.0
        self.update(report)
        self._progress.stop()


def print_report(report: Report) -> None:
    """The final report as rich tables (ids and counts only, no PHI)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=False)
    data = report.as_dict()
    table = Table(title="reprocess report", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in data["outcomes"].items():
        table.add_row(f"documents {key}", str(value))
    for key, value in data["enrichment_status"].items():
        table.add_row(f"status {key}", str(value))
    for key, value in data["resources_written"].items():
        table.add_row(f"written {key}", str(value))
    for key, value in data["resources_retired"].items():
        table.add_row(f"retired {key}", str(value))
    table.add_row("parts written", str(data["parts_written"]))
    table.add_row("elapsed s", f"{data['elapsed_s']:.1f}")
    table.add_row("enriched docs/s", f"{data['enriched_per_s']:.1f}")
    console.print(table)
    est = data["comprehend_medical_estimate"]
    cost = Table(title="Comprehend Medical estimate (prices are configuration)")
    for column in ("operation", "units", "USD/unit", "USD"):
        cost.add_column(column, justify="right" if column != "operation" else "left")
    for op, units in est["units"].items():
        cost.add_row(
            op,
            str(units),
            f"{est['price_per_unit_usd'][op]:g}",
            f"{est['cost_per_operation_usd'][op]:.2f}",
        )
    cost.add_row("total", "", "", f"{est['estimated_cost_usd']:.2f}")
    console.print(
        f"documents to analyse: {est['documents']}, characters: {est['characters']}", cost
    )
    for error in data["errors"][:20]:
        console.print(f"error {error['id']}: {error['error']}")
    if len(data["errors"]) > 20:
        console.print(f"... {len(data['errors']) - 20} more errors (see --report-json)")
    if data["stopped"]:
        console.print(f"[yellow]{data['stopped']}")


def reprocess_command(
    source: Annotated[str, typer.Option("--from", help="store | upstream | URL | path | s3://")],
    sink: Annotated[
        str | None,
        typer.Option("--to", help="store | upstream | URL | path | s3:// (default: --from)"),
    ] = None,
    query: Annotated[str, typer.Option(help="FHIR search for store/upstream sources")] = "",
    engine: Annotated[
        str | None, typer.Option(help="local | comprehend | replay:PATH | python:mod:factory")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="clinical | healthlake")] = None,
    min_score: Annotated[float | None, typer.Option(help="clinical profile threshold")] = None,
    force: Annotated[bool, typer.Option(help="process unchanged documents too")] = False,
    engine_version_below: Annotated[
        str | None, typer.Option(help="only documents enriched by an engine older than this")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="count documents, characters, units, cost")] = False,
    max_cost: Annotated[float | None, typer.Option(help="stop before this estimated USD")] = None,
    price_detect: Annotated[float, typer.Option(help="USD per unit, DetectEntitiesV2")] = 0.01,
    price_icd10: Annotated[float, typer.Option(help="USD per unit, InferICD10CM")] = 0.01,
    price_rxnorm: Annotated[float, typer.Option(help="USD per unit, InferRxNorm")] = 0.01,
    workers: Annotated[int, typer.Option(min=1, help="worker processes on this machine")] = 1,
    ray: Annotated[
        str | None, typer.Option(help="Ray address: auto | ray://host:10001 | local")
    ] = None,
    ray_actors: Annotated[int, typer.Option(min=1, help="Ray actors (engines)")] = 2,
    ray_actor_cpus: Annotated[float, typer.Option(help="CPUs per Ray actor")] = 0.5,
    ray_batch_size: Annotated[int, typer.Option(min=1, help="documents per map_batches")] = 64,
    ray_window: Annotated[int, typer.Option(min=1, help="documents per Ray Data run")] = 20_000,
    part_size: Annotated[int, typer.Option(min=1, help="documents per output part")] = 500,
    checkpoint: Annotated[Path | None, typer.Option(help="checkpoint SQLite file")] = None,
    restart: Annotated[bool, typer.Option(help="ignore the checkpoint, start over")] = False,
    report_json: Annotated[Path | None, typer.Option(help="write the report as JSON")] = None,
    s3_endpoint_url: Annotated[
        str | None, typer.Option(envvar="AWS_ENDPOINT_URL_S3", help="S3 endpoint (MinIO, moto)")
    ] = None,
    upstream_token: Annotated[str | None, typer.Option(help="bearer token upstream")] = None,
    db: Annotated[str | None, typer.Option(help="service SQLite file")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    options = dict(locals())
    from api.batch.sources import SourceError
    from api.batch.storage import StorageError
    from api.settings import SettingsError
    from api.store.base import StoreError
    from nlp.base import EngineError

    try:
        reprocess(**options)
    except SettingsError as exc:
        typer.echo(f"reprocess refused: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except (EngineError, StorageError, SourceError, StoreError) as exc:
        typer.echo(f"reprocess failed: {exc}", err=True)
        raise typer.Exit(code=1) from exc


def reprocess(
    *,
    source: str,
    sink: str | None,
    query: str,
    engine: str | None,
    profile: str | None,
    min_score: float | None,
    force: bool,
    engine_version_below: str | None,
    dry_run: bool,
    max_cost: float | None,
    price_detect: float,
    price_icd10: float,
    price_rxnorm: float,
    workers: int,
    ray: str | None,
    ray_actors: int,
    ray_actor_cpus: float,
    ray_batch_size: int,
    ray_window: int,
    part_size: int,
    checkpoint: Path | None,
    restart: bool,
    report_json: Path | None,
    s3_endpoint_url: str | None,
    upstream_token: str | None,
    db: str | None,
    progress: bool,
) -> None:
    """Run ``docref-nlp reprocess`` (options as the command's)."""
    from api.batch.checkpoint import Checkpoint
    from api.batch.cost import Prices
    from api.batch.model import EngineIdentity
    from api.batch.pool import Executor, PoolExecutor, SerialExecutor
    from api.batch.runner import BatchRun, RunOptions
    from api.batch.work import DocProcessor, Selection
    from api.bootstrap import build_limits, policy_fields, settle_heap
    from api.settings import Settings, check_db_path

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = Settings.from_env(db_path=db, profile=profile, min_score=min_score)
    if "store" in (source, sink):  # a typo in --db must not start a new, empty database
        check_db_path(settings.db_path, create=db is None, must_exist=source == "store")
    engine_spec = engine or settings.engine
    if settings.aws_region:
        os.environ.setdefault("AWS_DEFAULT_REGION", settings.aws_region)
    sink_spec = sink or source
    if _is_location(sink_spec) and sink is None and not dry_run:
        raise typer.BadParameter("[NLP672] an NDJSON source needs --to")
    src = _source(source, query, settings, upstream_token, s3_endpoint_url)
    out = (
        None
        if dry_run
        else _sink(
            sink_spec, settings, upstream_token, s3_endpoint_url, same_store=source == "store"
        )
    )
    policy = policy_fields(settings)
    now = datetime.now(UTC).isoformat()
    proc_args = (engine_spec, policy, now)
    proc_kwargs: dict[str, Any] = {
        "for_store": sink_spec == "store",
        "limits": dataclasses.asdict(build_limits(settings)),
    }

    executor: Executor | None = None
    if dry_run:
        identity: EngineIdentity = DocProcessor(*proc_args).identity
    else:
        if ray is not None:
            from api.batch.ray_runner import RayExecutor

            env = {"env_vars": {"PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path[1:2]])}}
            executor = RayExecutor(
                ray,
                proc_args,
                proc_kwargs,
                actors=ray_actors,
                actor_cpus=ray_actor_cpus,
                batch_size=ray_batch_size,
                window=ray_window,
                runtime_env=env if ray == "local" else None,
                s3_endpoint_url=s3_endpoint_url,
            )
        elif workers > 1:
            executor = PoolExecutor(workers, proc_args, proc_kwargs)
        else:
            executor = SerialExecutor(DocProcessor(*proc_args, **proc_kwargs))
            settle_heap()  # this process keeps the engine to the end of the run
        identity = executor.identity()

    engine_key = f"{identity.name}@{identity.version}"
    path = checkpoint or default_checkpoint(src.key, out.key if out else "", engine_spec)
    # --dry-run writes nothing: not even a checkpoint (it only counts and estimates)
    ckpt = Checkpoint(":memory:" if dry_run else path, source=src.key, engine=engine_key)
    if restart:
        ckpt.reset()
    options = RunOptions(
        selection=Selection(force=force, engine_version_below=engine_version_below),
        dry_run=dry_run,
        max_cost=max_cost,
        prices=Prices(detect=price_detect, icd10=price_icd10, rxnorm=price_rxnorm),
        part_size=part_size,
        profile=settings.profile,
        distributed_read=ray is not None and _is_location(source),
    )
    bar = _RichProgress(src.total()) if progress else None
    batch = BatchRun(src, out, ckpt, identity, options, bar)
    # SIGTERM (a service manager, a spot instance going away): write what was received, stop.
    signal.signal(signal.SIGTERM, lambda *_: batch.request_stop())
    try:
        report = batch.run(executor)
    finally:
        if bar is not None:
            bar.close(batch.report)
        if executor is not None:
            executor.close()
        if out is not None:
            out.close()
        ckpt.close()
    print_report(report)
    if report_json is not None:
        report_json.parent.mkdir(parents=True, exist_ok=True)
        report_json.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    if report.stopped and not report.stopped.startswith("[NLP660]"):
        raise typer.Exit(code=3)  # interrupted or a worker died: resume with the same command
    if report.errors:
        raise typer.Exit(code=2)
