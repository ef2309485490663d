"""Routes of the viewer under ``/ui/`` (HTML pages; thin: the work is in ``api.ui.views``).

URLs carry resource ids and engine choices only. Everything that may be note text (search
terms, pasted notes, uploads) is posted; see docs/viewer.md.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from api.deps import ClockDep, EngineDep, IndexDep, PolicyDep, SettingsDep, StoreDep, base_url
from api.search_params import SEARCHABLE_TYPES
from api.service import read_text
from api.ui import auth, views
from api.ui.engines import RUNNING, SAMPLES, STORED, EngineRegistry
from api.ui.render import UiError, json_page, page, secure, static_file, ui_errors
from api.ui.search import NLP_STATUSES, SearchForm, run_search
from enrich.extensions import find_extension
from enrich.urls import SRC_DOC

#: Largest upload or form accepted by the playground and the compare view.
MAX_FORM_BYTES = 4 * 1024 * 1024
_REGISTRY_LOCK = threading.Lock()

router = APIRouter(prefix="/ui", tags=["viewer"], include_in_schema=False)
viewer = APIRouter(dependencies=[Depends(auth.require_viewer)])


def registry_of(request: Request) -> EngineRegistry:
    """The engine registry of this app (``app.state.ui_engines``), made on first use."""
    state = request.app.state
    with _REGISTRY_LOCK:
        registry = getattr(state, "ui_engines", None)
        if registry is None:
            settings = state.settings
            registry = EngineRegistry(settings.engine, Path(settings.samples_dir))
            state.ui_engines = registry
    return registry


RegistryDep = Annotated[EngineRegistry, Depends(registry_of)]


async def read_form(request: Request) -> FormData:
    """The posted form (URL-encoded or multipart), bounded in size.

    Raises:
        UiError: ``[NLP806]`` too large.
    """
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise UiError(413, "NLP806", f"the form is larger than {MAX_FORM_BYTES:,} bytes")
    return await request.form(max_files=1, max_fields=20, max_part_size=MAX_FORM_BYTES)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# --------------------------------------------------------------------------- open routes


@router.get("")
def root() -> Response:
    return secure(RedirectResponse("/ui/", status_code=307))


@router.get("/static/{name}")
def static(name: str) -> Response:
    """CSS and JavaScript (no PHI, no login needed)."""
    return static_file(name)


@router.get("/login")
def login_form(request: Request, next: str = "/ui/") -> Response:
    return page(
        request,
        "login.html",
        next=auth.safe_next(next),
        error=None,
        configured=auth.tokens_configured(request),
    )


@router.post("/login")
async def login(request: Request) -> Response:
    auth.check_origin(request)
    form = await read_form(request)
    next_path = auth.safe_next(_field(form, "next"))
    done = auth.start_session(request, _field(form, "token").strip(), next_path)
    if done is not None:
        return done
    return page(
        request,
        "login.html",
        status=401,
        next=next_path,
        error="[NLP805] this token is not accepted",
        configured=auth.tokens_configured(request),
    )


@router.post("/logout")
def logout(request: Request) -> Response:
    auth.check_origin(request)
    return auth.end_session()


# --------------------------------------------------------------------------- documents


def _documents(
    request: Request, store: Any, index: Any, form: SearchForm, searched: bool
) -> Response:
    with ui_errors():
        results = run_search(store, index, form)
    return page(
        request,
        "documents.html",
        form=form,
        results=results,
        searched=searched,
        statuses=NLP_STATUSES,
    )


@viewer.get("/")
def documents(request: Request, store: StoreDep, index: IndexDep) -> Response:
    """The newest documents (no criteria: a GET carries no search terms)."""
    return _documents(request, store, index, SearchForm(), searched=False)


@viewer.post("/documents")
async def search_documents(request: Request, store: StoreDep, index: IndexDep) -> Response:
    """The search form, posted: its terms may be note text, so they never reach a URL."""
    posted = await read_form(request)
    form = SearchForm.from_items((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    return await run_in_threadpool(_documents, request, store, index, form, True)


@viewer.get("/documents/{doc_id}")
def document(request: Request, doc_id: str, store: StoreDep, index: IndexDep) -> Response:
    with ui_errors():
        view = views.document_view(store, index, doc_id)
    return page(request, "document.html", view=view, note=view.note)


@viewer.get("/nlp/{doc_id}")
def nlp_json(doc_id: str, store: StoreDep, index: IndexDep) -> Response:
    """The stored Comprehend-shaped result (as ``$nlp``), behind the viewer's login."""
    views.read_document(store, doc_id)
    state = index.state(doc_id)
    if state is None or state.result is None:
        raise UiError(404, "NLP803", "this document has no stored NLP result")
    return json_page(state.result)


def _resource(store: Any, resource_type: str, resource_id: str) -> dict[str, Any]:
    if resource_type not in SEARCHABLE_TYPES:
        raise UiError(404, "NLP803", "the viewer shows DocumentReferences and generated types")
    resource: dict[str, Any] | None = store.read(resource_type, resource_id)
    if resource is None:
        raise UiError(404, "NLP803", f"{resource_type}/{resource_id[:64]} is not in the store")
    return resource


def _source_document(resource: dict[str, Any]) -> str | None:
    # clinical profile: a plain extension; healthlake profile: a modifierExtension (D16)
    links = [*(resource.get("extension") or []), *(resource.get("modifierExtension") or [])]
    ext = find_extension({"extension": links}, SRC_DOC)
    ref = (ext or {}).get("valueReference")
    reference = ref.get("reference") if isinstance(ref, dict) else None
    if isinstance(reference, str) and reference.startswith("DocumentReference/"):
        return reference.split("/", 1)[1]
    return None


@viewer.get("/resources/{resource_type}/{resource_id}")
def resource(
    request: Request, resource_type: str, resource_id: str, store: StoreDep, settings: SettingsDep
) -> Response:
    """One resource as FHIR JSON, with a link back to the document it came from."""
    found = _resource(store, resource_type, resource_id)
    return page(
        request,
        "resource.html",
        resource=found,
        resource_type=resource_type,
        resource_id=resource_id,
        fhir_url=f"{base_url(request, settings)}/{resource_type}/{resource_id}",
        source=resource_id if resource_type == "DocumentReference" else _source_document(found),
    )


@viewer.get("/raw/{resource_type}/{resource_id}")
def raw(resource_type: str, resource_id: str, store: StoreDep) -> Response:
    return json_page(_resource(store, resource_type, resource_id), "application/fhir+json")


# --------------------------------------------------------------------------- playground


def _playground_page(
    request: Request,
    registry: EngineRegistry,
    engine: Any,
    *,
    form: views.PlaygroundInput,
    view: views.PlaygroundView | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "playground.html",
        status=status,
        form=form,
        view=view,
        note=view.note if view else None,
        error=error,
        engines=registry.choices(engine),
        profiles=views.PROFILES,
    )


@viewer.get("/playground")
def playground_form(
    request: Request, registry: RegistryDep, engine: EngineDep, policy: PolicyDep
) -> Response:
    """The empty playground (a GET never analyses anything: text is posted)."""
    form = views.PlaygroundInput("", RUNNING, policy.profile)
    return _playground_page(request, registry, engine, form=form)


@viewer.post("/playground")
async def playground(
    request: Request,
    registry: RegistryDep,
    engine: EngineDep,
    policy: PolicyDep,
    clock: ClockDep,
    store: StoreDep,
) -> Response:
    """Analyse posted text or an uploaded DocumentReference; nothing is stored."""
    data = await read_form(request)
    upload = data.get("document")
    raw_upload = await upload.read(MAX_FORM_BYTES + 1) if isinstance(upload, UploadFile) else b""
    form = views.PlaygroundInput(
        _field(data, "text"),
        _field(data, "engine") or RUNNING,
        _field(data, "profile") or policy.profile,
        raw_upload or None,
    )
    try:
        with ui_errors():
            view = await run_in_threadpool(
                views.playground,
                form,
                store=store,
                registry=registry,
                running=engine,
                policy=policy,
                clock=clock,
            )
    except UiError as exc:
        return _playground_page(
            request, registry, engine, form=form, error=str(exc), status=exc.status
        )
    form.text = view.text
    return _playground_page(request, registry, engine, form=form, view=view)


# --------------------------------------------------------------------------- compare


def _compare_page(
    request: Request,
    registry: EngineRegistry,
    engine: Any,
    *,
    doc_id: str,
    text: str,
    keys: tuple[str, str],
    view: views.CompareView | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "compare.html",
        status=status,
        doc_id=doc_id,
        text=text,
        keys=keys,
        view=view,
        error=error,
        engines=registry.choices(engine, stored=True),
    )


def _default_keys(registry: EngineRegistry, engine: Any) -> tuple[str, str]:
    keys = registry.keys(engine)
    return STORED, RUNNING if RUNNING in keys else SAMPLES


@viewer.get("/compare")
def compare_document(
    request: Request,
    registry: RegistryDep,
    engine: EngineDep,
    store: StoreDep,
    index: IndexDep,
    doc: str = "",
    a: str = "",
    b: str = "",
) -> Response:
    """Compare a stored document under two engines (``?doc=<id>&a=<engine>&b=<engine>``)."""
    default = _default_keys(registry, engine)
    keys = (a or default[0], b or default[1])
    if not doc:
        return _compare_page(request, registry, engine, doc_id="", text="", keys=keys)
    try:
        with ui_errors():
            found = views.read_document(store, doc)
            text = read_text(found, store)
            if text is None:
                raise UiError(422, "NLP807", "this document has no text to compare")
            view = views.compare_view(
                text,
                keys,
                registry=registry,
                running=engine,
                stored=views.stored_result(index, doc),
                doc_id=doc,
            )
    except UiError as exc:
        return _compare_page(
            request, registry, engine, doc_id=doc, text="", keys=keys, error=str(exc),
            status=exc.status,
        )  # fmt: skip
    return _compare_page(request, registry, engine, doc_id=doc, text="", keys=keys, view=view)


@viewer.post("/compare")
async def compare_text(request: Request, registry: RegistryDep, engine: EngineDep) -> Response:
    """Compare posted text under two engines (nothing stored)."""
    data = await read_form(request)
    text = views.newlines(_field(data, "text"))
    keys = (_field(data, "a") or RUNNING, _field(data, "b") or SAMPLES)
    try:
        if not text.strip():
            raise UiError(422, "NLP807", "paste a note to compare")
        if STORED in keys:
            raise UiError(400, "NLP801", "pasted text has no stored result; choose two engines")
        with ui_errors():
            view = await run_in_threadpool(
                views.compare_view, text, keys, registry=registry, running=engine
            )
    except UiError as exc:
        return _compare_page(
            request, registry, engine, doc_id="", text=text, keys=keys, error=str(exc),
            status=exc.status,
        )  # fmt: skip
    return _compare_page(request, registry, engine, doc_id="", text=text, keys=keys, view=view)


router.include_router(viewer)
