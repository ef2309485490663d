"""Imports every command module so that each registers its commands on ``cli.main.app``."""

from cli import (
    analyze_cmd,  # noqa: F401
    bench_api_cmd,  # noqa: F401
    bench_cmd,  # noqa: F401
    bench_e2e_cmd,  # noqa: F401
    enrich_cmd,  # noqa: F401
    eval_cmd,  # noqa: F401
    models_cmd,  # noqa: F401
    reprocess_cmd,  # noqa: F401
    serve_cmd,  # noqa: F401
)
