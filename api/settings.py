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
import socket
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "DOCREF_NLP_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
#: Shortest API token or webhook secret accepted (D15): guessing 16 random characters is hopeless.
MIN_SECRET_CHARS = 16
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class SettingsError(ValueError):
    """Settings that cannot be used (bad value, unsafe exposure); message starts with a code."""


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is positively a loopback address: only then may the service run open.

    An empty host, ``0.0.0.0`` and ``::`` mean every interface; a name counts only when every
    address it resolves to is loopback (``localhost`` normally); anything unknown is not.

    >>> [is_loopback_host(h) for h in ("127.0.0.1", "::1", "[::1]", "127.3.2.1")]
    [True, True, True, True]
    >>> [is_loopback_host(h) for h in ("", " ", "0.0.0.0", "::", "10.0.0.1", "::ffff:10.0.0.1")]
    [False, False, False, False, False, False]
    """
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if not name:
        return False
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return _name_is_loopback(name)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _name_is_loopback(name: str) -> bool:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {str(info[4][0]).split("%")[0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def _check_secret(value: str, what: str) -> str:
    if value != value.strip() or len(value) < MIN_SECRET_CHARS or any(c.isspace() for c in value):
        raise ValueError(
            f"[NLP902] {what} must be at least {MIN_SECRET_CHARS} characters without spaces"
        )
    return value


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
        host: bind address (default ``127.0.0.1``). Anything but a positively loopback address
            (an empty host, ``0.0.0.0``, ``::`` = every interface) requires ``api_tokens`` and
            ``webhook_secret`` (D15).
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
        api_tokens: Bearer tokens accepted by the FHIR API (empty = no check; loopback only),
            each at least ``MIN_SECRET_CHARS`` (16) characters. Environment: comma-separated.
        webhook_secret: shared secret the webhook expects in its header (16 characters or more;
            empty = none).
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
        log_level: logging level (default ``INFO``); ``log_format``: ``text`` | ``json`` (one
            JSON object per line).
        max_note_chars: longest note analysed (200,000 characters); a longer one is stored with
            status ``VALIDATION_ERROR`` and a message, without NLP.
        max_generated_resources: most resources one document may generate (2,500), and
            ``max_index_rows``: most NLP index rows (40,000); beyond either, the document is
            stored with ``VALIDATION_ERROR`` and nothing generated.
        max_json_depth: deepest JSON nesting a request body may have (1,000; at most 5,000).
        max_body_bytes: largest request body (16 MiB).
        max_include: most ``_include``/``_revinclude`` resources in one page (1,000); the rest
            follow through the ``next`` link.
        store_generated_history: keep every version of the resources enrichments generate
            (default ``False``: their current version and deletions only; docs/performance.md).
        sqlite_page_size: page size of a new SQLite database (2048: ~22 % fewer WAL bytes
            per note than 4096, scans of every NLP row 5-10 % slower; 1024 fewer still,
            searches 5-20 % slower: docs/performance.md). An existing file keeps its own.
        sqlite_secure_delete: ``PRAGMA secure_delete`` of the SQLite connections (``FAST``:
            deleted content is zeroed on the pages a write changes, freed pages keep their
            bytes until reused; ``ON``: freed pages are zeroed too, ~50 KB more WAL per note;
            ``OFF``: SQLite's own default).
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
    log_format: Literal["text", "json"] = "text"
    max_note_chars: int = Field(default=200_000, ge=1)
    max_generated_resources: int = Field(default=2_500, ge=0)
    max_index_rows: int = Field(default=40_000, ge=0)
    max_json_depth: int = Field(default=1_000, ge=8, le=5_000)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_include: int = Field(default=1_000, ge=1)
    store_generated_history: bool = False
    sqlite_page_size: Literal[512, 1024, 2048, 4096, 8192, 16384, 32768, 65536] = 2048
    sqlite_secure_delete: Literal["ON", "OFF", "FAST"] = "FAST"

    @field_validator("api_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [t.strip() for t in value.split(",") if t.strip()]
        return value

    @field_validator("api_tokens")
    @classmethod
    def _check_tokens(cls, value: list[str]) -> list[str]:
        return [_check_secret(token, "every API token") for token in value]

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _check_webhook_secret(cls, value: Any) -> Any:
        if value is None or value == "":
            return None  # unset (an empty environment variable included)
        if isinstance(value, str):
            return _check_secret(value, "the webhook secret")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _check_log_level(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
            return value.strip().upper()
        raise ValueError(f"[NLP900] log_level must be one of {', '.join(LOG_LEVELS)}")

    @field_validator("engine")
    @classmethod
    def _check_engine(cls, value: str) -> str:
        kind, sep, argument = value.partition(":")
        if value in ("local", "comprehend") or (kind in ("replay", "local") and sep and argument):
            return value
        raise ValueError("engine must be 'local[:ASSETS]', 'comprehend' or 'replay:PATH'")

    @property
    def is_loopback(self) -> bool:
        """Whether ``host`` positively only accepts local connections (:func:`is_loopback_host`:
        an empty or wildcard host is every interface)."""
        return is_loopback_host(self.host)

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
            where = self.host.strip() or "every interface (empty host)"
            raise SettingsError(
                f"[NLP901] binding to {where} requires {' and '.join(missing)} "
                "(only a loopback address such as 127.0.0.1 may run without them)"
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
            raise SettingsError(validation_message(exc)) from None


def validation_message(exc: ValidationError) -> str:
    """One coded line for invalid settings: the fields, and a validator's own coded reason
    (never the value: it may be a secret)."""
    errors = exc.errors()
    fields = ", ".join(dict.fromkeys(str(e["loc"][0]) for e in errors if e["loc"]))
    for error in errors:
        reason = str(error.get("msg", "")).removeprefix("Value error, ")
        if reason.startswith("[NLP"):
            return f"{reason} ({fields})" if fields else reason
    return f"[NLP900] invalid settings: {fields or 'unknown field'}"


def check_db_path(db_path: str, *, create: bool = True, must_exist: bool = False) -> None:
    """Refuse a SQLite path the service cannot use, before anything opens it.

    Args:
        db_path: ``Settings.db_path`` (``:memory:`` and ``postgresql://`` URLs pass).
        create: the folder may be created (``serve``: the default folder is new on a fresh
            machine); else it must exist (``reprocess --db``: a typo must not start a new,
            empty database).
        must_exist: the database file itself must exist (a source that is read).

    Raises:
        SettingsError: ``[NLP903]`` the folder or file is missing, or not writable.
    """
    if db_path == ":memory:" or db_path.startswith(("postgresql://", "postgres://")):
        return
    path = Path(db_path).expanduser()
    if path.exists() and not path.is_file():
        raise SettingsError(f"[NLP903] the database path {path} is not a file")
    if must_exist and not path.exists():
        raise SettingsError(f"[NLP903] there is no database at {path}")
    folder = path.parent
    if not folder.exists():
        if not create:
            raise SettingsError(f"[NLP903] the database folder {folder} does not exist")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SettingsError(
                f"[NLP903] cannot create the database folder {folder}: {reason}"
            ) from None
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SettingsError(f"[NLP903] the database {path} is not writable")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"[NLP900] cannot read config file {path}: {exc}") from exc
    section = data.get("docref-nlp", data)
    if not isinstance(section, dict):
        raise SettingsError(f"[NLP900] config file {path}: [docref-nlp] must be a table")
    return {k.replace("-", "_"): v for k, v in section.items()}
