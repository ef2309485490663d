"""Service settings from defaults, an optional TOML file and ``DOCREF_NLP_*`` environment variables.

Precedence (lowest first): defaults, the TOML file (``DOCREF_NLP_CONFIG`` or ``config_file``),
environment variables, explicit overrides (the CLI's options). Nothing here runs at import.

Example TOML (top-level keys, or the same keys under a ``[docref-nlp]`` table)::

    host = "127.0.0.1"
    port = 8080
    db_path = "/var/lib/docref-nlp/docref-nlp.sqlite"
    engine = "local"
    api_tokens = ["change-me"]
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "DOCREF_NLP_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"


class SettingsError(ValueError):
    """Settings that cannot be used (bad value, unsafe exposure); message starts with a code."""


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/docref-nlp/docref-nlp.sqlite`` (outside the repository)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "docref-nlp" / "docref-nlp.sqlite"


def default_samples_dir() -> Path:
    """The repository's ``samples/`` folder."""
    return Path(__file__).resolve().parent.parent / "samples"


class Settings(BaseModel):
    """Configuration of the service (every field is ``DOCREF_NLP_<FIELD>`` in the environment).

    Attributes:
        host: bind address (default ``127.0.0.1``). Anything but loopback requires ``api_tokens``
            and ``webhook_secret`` (D15).
        port: TCP port (default 8080).
        db_path: SQLite file of the store, NLP index and intake queue (default
            ``~/.local/share/docref-nlp/docref-nlp.sqlite``); ``:memory:`` for tests; or a
            ``postgresql://user:password@host/dbname`` URL: the same on PostgreSQL, shared by
            several replicas and workers (D10, ``api/store/postgres.py``).
        engine: ``local[:ASSETS_DIR]`` | ``comprehend`` | ``replay:PATH`` (default ``local``).
        profile: generation profile, ``clinical`` (default) or ``healthlake``.
        min_score: minimum concept score of the clinical profile (``None`` = policy default).
        load_samples: load ``samples_dir/*.json`` through the write path at start-up.
        samples_dir: where the samples are (default: the repository's ``samples/``).
        api_tokens: Bearer tokens accepted by the FHIR API (empty = no check; loopback only).
            Environment: comma-separated.
        webhook_secret: shared secret the webhook expects in its header (used by the webhook).
        base_url: public base URL used in Bundle links and ``Location`` (default: from request).
        page_size: default ``_count`` (50); ``max_page_size``: upper bound (1000).
        upstream: write-back target of the webhook path: ``none`` | ``fhir`` | ``healthlake``.
        upstream_url: FHIR base URL of the upstream server (``fhir``).
        upstream_token: Bearer token for the upstream server (``fhir``).
        healthlake_datastore_id: HealthLake data store id (``healthlake``).
        aws_region: AWS region for Comprehend Medical and HealthLake.
        intake_workers: webhook intake worker threads (default 1).
        intake_max_attempts: attempts before a notification is dead-lettered (default 5).
        intake_backoff_s: first retry delay of a failed notification, doubled per attempt (1.0).
        smart_token_url: SMART backend-services token endpoint (default: discovered from
            ``upstream_url/.well-known/smart-configuration``).
        smart_client_id: SMART client id; ``smart_private_key_path``: its PEM private key (set
            both to use SMART instead of ``upstream_token``); ``smart_alg``: ``RS384`` | ``ES384``;
            ``smart_kid``: key id; ``smart_scope``: requested scopes.
        test_engine_delay_s: test only: the intake workers' engine sleeps this long per note.
        log_level: logging level (default ``INFO``).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    db_path: str = Field(default_factory=lambda: str(default_db_path()))
    engine: str = "local"
    profile: Literal["clinical", "healthlake"] = "clinical"
    min_score: float | None = Field(default=None, ge=0.0, le=1.0)
    load_samples: bool = False
    samples_dir: str = Field(default_factory=lambda: str(default_samples_dir()))
    api_tokens: list[str] = Field(default_factory=list)
    webhook_secret: str | None = None
    base_url: str | None = None
    page_size: int = Field(default=50, ge=1)
    max_page_size: int = Field(default=1000, ge=1)
    upstream: Literal["none", "fhir", "healthlake"] = "none"
    upstream_url: str | None = None
    upstream_token: str | None = None
    healthlake_datastore_id: str | None = None
    aws_region: str | None = None
    intake_workers: int = Field(default=1, ge=0)
    intake_max_attempts: int = Field(default=5, ge=1)
    intake_backoff_s: float = Field(default=1.0, ge=0.0)
    smart_token_url: str | None = None
    smart_client_id: str | None = None
    smart_private_key_path: str | None = None
    smart_alg: Literal["RS384", "ES384"] = "RS384"
    smart_kid: str | None = None
    smart_scope: str = "system/*.read system/*.write"
    test_engine_delay_s: float = Field(default=0.0, ge=0.0)
    log_level: str = "INFO"

    @field_validator("api_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [t.strip() for t in value.split(",") if t.strip()]
        return value

    @field_validator("engine")
    @classmethod
    def _check_engine(cls, value: str) -> str:
        kind, sep, argument = value.partition(":")
        if value in ("local", "comprehend") or (kind in ("replay", "local") and sep and argument):
            return value
        raise ValueError("engine must be 'local[:ASSETS]', 'comprehend' or 'replay:PATH'")

    @property
    def is_loopback(self) -> bool:
        """Whether ``host`` only accepts local connections."""
        if self.host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def check_exposure(self) -> None:
        """Refuse to bind beyond loopback without API tokens and a webhook secret (D15).

        Raises:
            SettingsError: ``[NLP901]`` when the service would be exposed unprotected.
        """
        if self.is_loopback:
            return
        missing = [
            name
            for name, present in (
                (ENV_PREFIX + "API_TOKENS", bool(self.api_tokens)),
                (ENV_PREFIX + "WEBHOOK_SECRET", bool(self.webhook_secret)),
            )
            if not present
        ]
        if missing:
            raise SettingsError(
                f"[NLP901] binding to {self.host} requires {' and '.join(missing)} "
                "(only 127.0.0.1 may run without them)"
            )

    @classmethod
    def from_env(
        cls,
        environ: dict[str, str] | None = None,
        *,
        config_file: str | Path | None = None,
        **overrides: Any,
    ) -> Settings:
        """Settings from the TOML file, the environment, then ``overrides`` (``None`` skipped).

        Raises:
            SettingsError: ``[NLP900]`` for an unreadable file or an invalid value.
        """
        env = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        path = config_file or env.get(CONFIG_ENV)
        if path:
            values.update(_read_toml(Path(path)))
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"])
            raise SettingsError(f"[NLP900] invalid settings: {fields or 'unknown field'}") from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"[NLP900] cannot read config file {path}: {exc}") from exc
    section = data.get("docref-nlp", data)
    if not isinstance(section, dict):
        raise SettingsError(f"[NLP900] config file {path}: [docref-nlp] must be a table")
    return {k.replace("-", "_"): v for k, v in section.items()}
