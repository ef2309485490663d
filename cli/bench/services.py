"""The service as the benchmarks open it: the composition root on a new database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.bootstrap import Services


def open_services(db_path: str, *, engine_spec: str = "local", engine: Any = None) -> Services:
    """The composition root on a fresh database (no upstream, no intake workers)."""
    from api.bootstrap import build_services
    from api.settings import Settings

    settings = Settings(db_path=db_path, engine=engine_spec, intake_workers=0)
    return build_services(settings, engine=engine)
