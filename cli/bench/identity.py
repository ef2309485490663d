"""Engine identity check: the local engine's full NlpResult JSON over a fixed corpus, recorded
from one checkout and compared with another (speed work must not change a single byte).

The corpus: the samples' texts, the invented notes of ``tests/fixtures/engine-identity``, the
bench's synthetic notes and, when the shared data directory is there, the BC5CDR and NCBI
development abstracts and the deid nursing notes of the development patients (the patient split
of ``nlp/evaluation/data/notes-gold.json``; never the test half).

Record from a reference checkout (its own ``nlp`` package first on ``sys.path``), check from
the working one::

    PYTHONPATH=/path/to/main .venv/bin/python cli/bench/identity.py record /tmp/base.jsonl
    .venv/bin/python cli/bench/identity.py check /tmp/base.jsonl

Recordings hold note text in their results, so they live outside the repository. Differences
are reported by document id and JSON path only (never a value: clinical text is PHI).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = ROOT / "tests" / "fixtures" / "engine-identity" / "sentences.txt"
DEFAULT_DATA = ROOT.parent / "shared" / "data"


class _Result(Protocol):
    def model_dump_json(self, *, by_alias: bool) -> str: ...


class _Engine(Protocol):
    def analyze(self, text: str) -> Any: ...

    def analyze_many(self, texts: Iterable[str], batch_size: int = 32) -> Iterator[Any]: ...


def invented_notes(path: Path = SENTENCES) -> list[str]:
    """The blocks of the invented-notes file (``---`` lines separate notes, ``#`` comments)."""
    notes: list[str] = []
    lines: list[str] = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line == "---":
            notes.append("\n".join(lines))
            lines = []
        elif not line.startswith("#"):
            lines.append(line)
    if lines:
        notes.append("\n".join(lines).rstrip("\n"))
    return notes


def sample_texts() -> list[tuple[str, str]]:
    """(sample name, text) of every sample with usable text, as the service extracts it."""
    from enrich.text import extract_text

    out = []
    for path in sorted((ROOT / "samples").glob("*.json")):
        extracted = extract_text(json.loads(path.read_text(encoding="utf-8")))
        if extracted is not None and extracted.text is not None:
            out.append((f"sample:{path.stem}", extracted.text))
    return out


def synthetic_notes() -> list[tuple[str, str]]:
    """The bench's notes (``docref-nlp bench`` with its default seed and counts)."""
    from cli.bench.notes import synthetic_note

    rng = random.Random(7)
    small = [synthetic_note(rng, 2000)[:2048] for _ in range(50)]
    large = [synthetic_note(rng, 20000)[:20480] for _ in range(5)]
    return [(f"bench2k:{i}", t) for i, t in enumerate(small)] + [
        (f"bench20k:{i}", t) for i, t in enumerate(large)
    ]


def shared_texts(data_dir: Path) -> list[tuple[str, str]]:
    """BC5CDR and NCBI dev abstracts and deid dev-patient notes, those that are present."""
    from nlp.evaluation import deid, pubtator

    out: list[tuple[str, str]] = []
    for name in ("bc5cdr", "ncbi"):
        if (data_dir / pubtator.SPLIT_FILES[name]["dev"]).is_file():
            docs = pubtator.read_pubtator(name, "dev", data_dir)
            out.extend((f"{name}:{d.doc_id}", d.text) for d in docs)
    if (data_dir / "deid" / "id.text").is_file():
        docs, _ = deid.read_deid(data_dir, "dev")
        out.extend((f"deid:{d.doc_id}", d.text) for d in docs)
    return out


def corpus(data_dir: Path | None = None) -> list[tuple[str, str]]:
    """(document id, text) of the whole identity corpus; ``data_dir=None``: no shared data."""
    docs = sample_texts()
    docs += [(f"invented:{i}", t) for i, t in enumerate(invented_notes())]
    docs += synthetic_notes()
    if data_dir is not None:
        docs += shared_texts(data_dir)
    return docs


def results(engine: _Engine, docs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Document id -> the full NlpResult JSON; the samples and invented notes also through
    ``analyze_many`` (ids prefixed ``many:``), the batch path of the evaluation and the CLI."""
    out = {doc_id: engine.analyze(text).model_dump_json(by_alias=True) for doc_id, text in docs}
    few = [(i, t) for i, t in docs if i.startswith(("sample:", "invented:"))]
    for (doc_id, _), result in zip(few, engine.analyze_many(t for _, t in few), strict=True):
        out[f"many:{doc_id}"] = result.model_dump_json(by_alias=True)
    return out


def first_difference(a: Any, b: Any, path: str = "$") -> str | None:
    """JSON path of the first place where ``a`` and ``b`` differ (None when equal)."""
    if type(a) is not type(b):
        return f"{path} (type)"
    if isinstance(a, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return f"{path}.{key} (missing)"
            got = first_difference(a[key], b[key], f"{path}.{key}")
            if got is not None:
                return got
        if list(a) != list(b):
            return f"{path} (key order)"
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            got = first_difference(x, y, f"{path}[{i}]")
            if got is not None:
                return got
        return f"{path} (length {len(a)} != {len(b)})" if len(a) != len(b) else None
    return None if a == b else path


def compare(baseline: dict[str, str], current: dict[str, str]) -> list[str]:
    """Differences as ``document id: JSON path`` lines (no values)."""
    out = [f"{i}: missing" for i in baseline if i not in current]
    out += [f"{i}: not in the baseline" for i in current if i not in baseline]
    for doc_id, want in baseline.items():
        got = current.get(doc_id)
        if got is None or got == want:
            continue
        where = first_difference(json.loads(want), json.loads(got)) or "$ (formatting)"
        out.append(f"{doc_id}: {where}")
    return out


def save(path: Path, recorded: dict[str, str]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for doc_id, result in recorded.items():
            fh.write(json.dumps({"id": doc_id, "result": result}) + "\n")


def load(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            out[str(row["id"])] = str(row["result"])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("action", choices=("record", "check"))
    parser.add_argument("recording", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data directory")
    parser.add_argument("--no-data", action="store_true", help="leave the shared data out")
    parser.add_argument("--assets", type=Path, default=None, help="assets directory")
    args = parser.parse_args(argv)

    from nlp.local import LocalEngine

    data = None if args.no_data or not args.data.is_dir() else args.data
    docs = corpus(data)
    engine = LocalEngine.from_assets(args.assets)
    # compiled or source (a reference checkout without the build guard runs its sources)
    mode = getattr(sys.modules.get("nlp.local.native"), "MODE", "source")
    print(
        f"engine {engine.version} from {Path(sys.modules[LocalEngine.__module__].__file__ or '')}"
        f" ({mode})"
    )
    current = results(engine, docs)
    chars = sum(len(t) for _, t in docs)
    if args.action == "record":
        save(args.recording, current)
        print(f"recorded {len(current)} results ({len(docs)} documents, {chars} characters)")
        return 0
    diffs = compare(load(args.recording), current)
    for line in diffs[:50]:
        print(line)
    print(
        f"{len(current)} results ({len(docs)} documents, {chars} characters): {len(diffs)} differ"
    )
    return 1 if diffs else 0


if __name__ == "__main__":
    # run as a file: its own folder must not shadow top-level packages (``api``, ...)
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.exit(main())
