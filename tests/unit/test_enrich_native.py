"""The compiled enrichment (``enrich``, mypyc; setup.py): guarded as the local engine is
(nlp/local/native.py's ``GROUPS``), the same output compiled or not, its generated
raw-response writers up to date with nlp/schema.py."""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import os
import random
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import enrich
from enrich import javagen
from enrich.rawresponse import aws_json
from nlp.local import native
from nlp.schema import Assertion, DetectEntitiesV2Response, Entity, NlpResult, Trait
from tests.unit.test_enrich_fastpath import _random_result
from tests.unit.test_local_native import fake_package

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]
ROOT = Path(native.__file__).resolve().parents[2]
MANIFEST = native.MANIFEST.name

# every sample in both profiles, as JSON (the documents, generated resources and index rows)
OUTPUTS = """
import json, random, sys
from datetime import UTC, datetime
import enrich
from enrich import EnrichmentPolicy, enrich_document
from tests.golden import enrich_sample, sample_names
from tests.unit.test_enrich_fastpath import _document, _random_result
out = {}
def put(key, e):
    out[key] = [e.document, e.generated, [r.model_dump(mode="json") for r in e.index_rows]]
for name in sample_names():
    for profile in ("clinical", "healthlake"):
        put(f"{name}/{profile}", enrich_sample(name, profile))
for seed in range(40):  # random results (odd scores, missing values) through every builder
    result = _random_result(random.Random(5000 + seed))
    for profile in ("clinical", "healthlake"):
        policy = EnrichmentPolicy(profile=profile)
        now = datetime(2024, 1, 2, tzinfo=UTC)
        put(f"random-{seed}/{profile}", enrich_document(
            _document(), result, policy=policy, now=now, engine_name="e", engine_version="1"))
sys.stdout.write(enrich.native.MODE + "\\n" + json.dumps(out, sort_keys=True))
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != native.PURE_ENV}, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_the_enrichment_is_a_compiled_group_of_the_guard() -> None:
    group = native.group_of("enrich")
    assert group is not None
    assert group.library == "docref_nlp_enrich__mypyc"
    assert group.folder() == ROOT / "enrich"
    # the builders from the NLP result: its text and JSON, the aws-cm tree, generated resources
    assert group.sources() == [
        "allergy", "generate", "ids", "meaning", "rawresponse", "resources", "tree"
    ]  # fmt: skip
    # the readers of documents (a stored one may be a LazyResource) are not compiled
    assert not {"core", "extensions", "source", "text", "native"} & set(group.sources())
    local = native.group_of("nlp.local")
    assert local is not None
    assert local.library == native.GROUP_LIBRARY
    # the local engine compiles every module of its folder but the ones named not to be
    assert "matcher" in local.sources()
    assert not {"__init__", "native", "pipeline", "lexicon", "linker"} & set(local.sources())
    assert enrich.native.MODE in ("compiled", "source") or enrich.native.MODE.startswith("source: ")


def test_importing_enrich_chooses_its_modules_without_the_local_engine() -> None:
    probe = "import sys, enrich; print(enrich.native.MODE, 'nlp.local' in sys.modules)"
    run = run_python(probe)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-1] == "False"  # nlp.local (spaCy) not imported
    mode = run.stdout.rsplit(" ", 1)[0]
    assert mode in ("compiled", "source") or mode.startswith("source: ")
    # the same guard module when nlp.local is imported after enrich
    same = "import sys, enrich, nlp.local; print(nlp.local.native is enrich.native.guard())"
    run = run_python(same)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "True"


@pytest.mark.skipif(enrich.native.MODE != "compiled", reason="enrich is not compiled here")
def test_compiled_and_source_enrichment_give_the_same_bytes() -> None:
    compiled = run_python(OUTPUTS)
    source = run_python(OUTPUTS, **{native.PURE_ENV: "1"})
    assert compiled.returncode == 0, compiled.stderr[-2000:]
    assert source.returncode == 0, source.stderr[-2000:]
    mode, _, compiled_json = compiled.stdout.partition("\n")
    assert mode == "compiled"
    mode, _, source_json = source.stdout.partition("\n")
    assert mode == f"source: {native.PURE_ENV}=1"
    assert len(json.loads(compiled_json)) > 90
    assert compiled_json == source_json


def test_generated_writers_are_up_to_date_with_the_schema() -> None:
    assert javagen.current() == javagen.formatted(), "run `python -m enrich.javagen`"
    assert "exec(" not in (ROOT / "enrich" / "rawresponse.py").read_text(encoding="utf-8")


@pytest.fixture
def top_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``pkgtop_t``, a top-level package like ``enrich`` in its own group, two modules with
    (fake, unloadable) compiled files beside them and the group's library beside it."""
    group = native.Group("pkgtop_t", "pkgtop_t_group", "top test", ("alpha", "beta", "gone"))
    monkeypatch.setattr(native, "GROUPS", (*native.GROUPS, group))
    monkeypatch.setattr(native, "ROOT", tmp_path)
    with fake_package(tmp_path, "pkgtop_t") as folder:
        yield folder


def test_a_group_of_a_top_level_package_is_guarded_with_its_own_library(
    top_package: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(native.PURE_ENV, raising=False)
    monkeypatch.delenv(native.COMPILE_ENV, raising=False)
    group = native.group_of("pkgtop_t")
    assert group is not None
    assert group.sources(top_package.parent) == ["alpha", "beta"]  # "gone" has no source
    assert native.install_status(top_package, "pkgtop_t") == (
        1,
        "top test: compiled modules stale (no readable build manifest), building again",
    )
    native.write_manifest(group.sources(top_package.parent), top_package)
    # its own library, not the local engine's, must be importable
    assert native.stale_reason(top_package, package="pkgtop_t") == (
        "pkgtop_t_group__mypyc is not importable"
    )
    library = top_package.parent / f"{group.library}.py"  # importable stands for the .so
    library.write_text("", encoding="utf-8")
    importlib.invalidate_caches()
    assert native.stale_reason(top_package, package="pkgtop_t") is None
    assert native.install_status(top_package, "pkgtop_t") == (0, None)
    # an edited source: every compiled module of the group runs from its source, one warning
    (top_package / "beta.py").write_text("WHO = 'edited beta'\n", encoding="utf-8")
    with caplog.at_level("WARNING"):
        mode = native.choose_group("pkgtop_t")
        native.choose_group("pkgtop_t")
    assert mode == "source: their sources changed since they were compiled"
    assert caplog.text.count("top test: compiled modules not used") == 1
    assert importlib.import_module("pkgtop_t.alpha").WHO == "source alpha"
    assert importlib.import_module("pkgtop_t.beta").WHO == "edited beta"
    monkeypatch.setenv(native.PURE_ENV, "1")
    assert native.choose_group("pkgtop_t") == f"source: {native.PURE_ENV}=1"
    monkeypatch.delenv(native.PURE_ENV)
    code, message = native.install_status(top_package, "pkgtop_t")
    assert code == 1
    assert message is not None
    assert message.startswith("top test: compiled modules stale")
    # an uncompiled install removes the group's modules and its library (at the top)
    so_library = top_package.parent / f"{group.library}{SUFFIX}"
    so_library.write_bytes(b"")
    removed = native.record_uncompiled("DOCREF_NLP_COMPILE=0", top_package, "pkgtop_t")
    assert sorted(p.name for p in removed) == sorted(
        [f"alpha{SUFFIX}", f"beta{SUFFIX}", so_library.name]
    )
    assert native.uncompiled_reason(top_package) == "DOCREF_NLP_COMPILE=0"
    code, message = native.install_status(top_package, "pkgtop_t")
    assert code == 0
    assert message is not None
    assert message.startswith("top test installed uncompiled (DOCREF_NLP_COMPILE=0)")


def test_install_statuses_name_each_group_of_the_tree(
    top_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(native.COMPILE_ENV, raising=False)
    for so in top_package.glob(f"*{SUFFIX}"):
        so.unlink()
    # a group never built (e.g. just added to GROUPS) is built; the others of GROUPS are not
    # in this tree
    assert native.install_statuses(top_package.parent) == (
        1,
        ["top test: not built yet, building"],
    )
    native.record_uncompiled("no C compiler (cc not found)", top_package, "pkgtop_t")
    code, messages = native.install_statuses(top_package.parent)
    assert code == 0
    assert [m.split(":")[0] for m in messages] == [
        "top test installed uncompiled (no C compiler (cc not found))"
    ]
    monkeypatch.setenv(native.COMPILE_ENV, "0")
    (top_package / MANIFEST).unlink()
    assert native.install_statuses(top_package.parent) == (0, [])


def _results() -> list[NlpResult]:
    found = [
        NlpResult.model_validate(json.loads(p.read_text(encoding="utf-8")))
        for p in sorted((ROOT / "samples" / "nlp").glob("*.json"))
    ]
    return found + [_random_result(random.Random(3000 + seed)) for seed in range(40)]


def test_aws_json_is_pydantics_dump_of_every_result() -> None:
    results = _results()
    assert len(results) > 40
    for result in results:
        got = aws_json(result)
        assert got == result.to_aws()
        # the same keys in the same order, at every level
        assert json.dumps(got) == json.dumps(result.to_aws())


class _SubTrait(Trait):
    more: str | None = None


def test_aws_json_leaves_unexpected_values_to_pydantic() -> None:
    entity = Entity(Id=1, Text="x", Traits=[Trait(Name="SIGN", Score=0.5)])
    odd_values: list[dict[str, Any]] = [
        {"detect_entities": DetectEntitiesV2Response.model_construct(entities=[entity], x=1)},
        {"detect_entities": DetectEntitiesV2Response(Entities=[entity.model_copy(
            update={"traits": [_SubTrait(Name="SIGN", more="m")]})])},
        {"detect_entities": DetectEntitiesV2Response(Entities=[entity.model_copy(
            update={"score": 1})])},
        {"detect_entities": DetectEntitiesV2Response(Entities=[entity.model_copy(
            update={"traits": (Trait(Name="A"),)})])},
        {"assertions": [Assertion(BeginOffset=0, EndOffset=1, Category="X", Extra="kept")]},
    ]  # fmt: skip
    for values in odd_values:
        result = NlpResult.model_construct(**values)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydantic's serializer warns of the odd types
            expected = result.model_dump(by_alias=True, exclude_none=True)
            assert aws_json(result) == expected
    extra = NlpResult(Assertions=[{"BeginOffset": 0, "EndOffset": 1, "Category": "X", "Z": 2}])
    assert aws_json(extra)["Assertions"] == [
        {"BeginOffset": 0, "EndOffset": 1, "Category": "X", "Z": 2}
    ]


def test_install_rebuilds_when_the_modules_to_compile_change(
    top_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(native.COMPILE_ENV, raising=False)
    monkeypatch.delenv(native.PURE_ENV, raising=False)
    (top_package / "gone.py").write_text("WHO = 'added'\n", encoding="utf-8")
    native.write_manifest(["alpha", "beta"], top_package)
    (top_package.parent / "pkgtop_t_group__mypyc.py").write_text("", encoding="utf-8")
    importlib.invalidate_caches()
    assert native.stale_reason(top_package, package="pkgtop_t") is None  # still used
    assert native.install_status(top_package, "pkgtop_t") == (
        1,
        "top test: compiled modules stale (the modules to compile changed), building again",
    )


def test_make_clean_removes_the_compiled_files_of_every_group(tmp_path: Path) -> None:
    made: list[Path] = []
    for group in native.GROUPS:
        folder = group.folder(tmp_path)
        folder.mkdir(parents=True, exist_ok=True)
        for name in group.sources():
            made.append(folder / f"{name}{SUFFIX}")
        made += [folder / MANIFEST, tmp_path / f"{group.library}{SUFFIX}"]
    for path in made:
        path.write_bytes(b"built")
    dry = subprocess.run(
        ["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    removals = [line for line in dry.stdout.splitlines() if line.startswith("rm -f ")]
    assert removals
    for line in removals:  # only the compiled files' lines (not the virtualenv's)
        subprocess.run(line, shell=True, cwd=tmp_path, check=True)
    assert [p.relative_to(tmp_path) for p in made if p.exists()] == []


def test_aws_json_of_edge_values_is_pydantics() -> None:
    entity: dict[str, Any] = {"Id": 1, "BeginOffset": 0, "EndOffset": 2, "Text": "é😀\u2028"}
    scores = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 5e-324, 1.0]
    assigned = Entity(Id=2)
    assigned.traits = []  # assigned without validation: an empty list stays
    assigned.score = 0.25
    results = [
        NlpResult(),
        NlpResult(DetectEntitiesV2={"Entities": []}, InferRxNorm={}, Assertions=[]),
        NlpResult(
            DetectEntitiesV2={
                "Entities": [{**entity, "Score": s, "Traits": [{"Name": "N", "Score": s}]}
                             for s in scores] + [assigned],
                "UnmappedAttributes": [{"Type": "X"}],
                "ModelVersion": "",
            },
            InferICD10CM={"Entities": [{"Id": 1, "ICD10CMConcepts": [{"Code": "R51"}]}]},
            InferRxNorm={"Entities": [{"Id": 1, "RxNormConcepts": [], "Attributes": []}]},
            Assertions=[{"BeginOffset": 0, "EndOffset": 2, "Category": "C"}],
        ),
    ]  # fmt: skip
    for result in results:
        # NaN is unequal to itself: the JSON text compares (keys, order and values)
        assert json.dumps(aws_json(result)) == json.dumps(result.to_aws())


def test_a_stored_lazy_document_enriches_as_its_parsed_copy() -> None:
    """A document a store hands out unparsed (``LazyResource``) gives the same enrichment as
    the plain dict: whatever reads it (``enrich.core``, ``enrich.extensions``) is not compiled
    and the compiled builders get copies of its values (compiled here when ``MODE`` says)."""
    from datetime import UTC, datetime

    import orjson

    from api.store.codec import LazyResource
    from enrich import EnrichmentPolicy, enrich_document
    from tests.golden import SAMPLES, enrich_sample

    for name in ("example1-synthea", "otitis-strep"):
        result = NlpResult.model_validate_json((SAMPLES / "nlp" / f"{name}.json").read_bytes())
        for profile in ("clinical", "healthlake"):
            first = enrich_sample(name, profile)
            assert first.generated
            stored = orjson.dumps(first.document)  # the enriched document as a store keeps it

            def again(
                doc: dict[str, Any], result: NlpResult = result, profile: str = profile
            ) -> Any:
                return enrich_document(
                    doc, result, policy=EnrichmentPolicy(profile=profile),
                    now=datetime(2024, 2, 3, tzinfo=UTC), engine_name="e", engine_version="2",
                )  # fmt: skip

            plain = again(orjson.loads(stored))
            lazy_doc = LazyResource(stored, "DocumentReference", str(first.document["id"]))
            assert lazy_doc.raw is not None
            lazy = again(lazy_doc)
            # resources need the subject: the whole document was read, not an empty one
            assert lazy.generated
            assert lazy.retired == plain.retired
            assert orjson.dumps(lazy.document) == orjson.dumps(plain.document)
            assert orjson.dumps(lazy.generated) == orjson.dumps(plain.generated)
            assert lazy.index_rows == plain.index_rows
            assert lazy.document["subject"] == first.document["subject"]
