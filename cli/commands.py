"""Imports every command module so that each registers its commands on ``cli.main.app``."""
from cli import eval_cmd  # noqa: F401
from cli import reprocess_cmd  # noqa: F401
from cli import models_cmd  # noqa: F401
from cli import serve_cmd  # noqa: F401
from cli import enrich_cmd  # noqa: F401
from cli import analyze_cmd  # noqa: F401
from cli import bench_cmd  # noqa: F401
