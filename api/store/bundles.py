"""Store results as FHIR Bundles: a searchset with paging links, an instance history."""

from __future__ import annotations

from urllib.parse import urlencode

from api.search import INCLUDE_OFFSET, SearchQuery
from api.store.base import Resource, SearchResult, VersionInfo


def full_url(base_url: str, resource: Resource) -> str:
    """``<base>/<Type>/<id>``."""
    return f"{base_url.rstrip('/')}/{resource['resourceType']}/{resource['id']}"


def searchset(
    query: SearchQuery, result: SearchResult, base_url: str, *, default_count: int
) -> Resource:
    """A ``searchset`` Bundle with ``self``/``first``/``previous``/``next`` links.

    >>> q = SearchQuery("Condition", count=1, echo=(("code", "J02.0"),))
    >>> b = searchset(q, SearchResult(3, [{"resourceType": "Condition", "id": "c"}], []), "http://h",
    ...               default_count=50)
    >>> [(link["relation"], link["url"]) for link in b["link"]]  # doctest: +NORMALIZE_WHITESPACE
    [('self', 'http://h/Condition?code=J02.0&_count=1'),
     ('first', 'http://h/Condition?code=J02.0&_count=1&_offset=0'),
     ('next', 'http://h/Condition?code=J02.0&_count=1&_offset=1')]
    """
    count = default_count if query.count is None else query.count
    base = f"{base_url.rstrip('/')}/{query.resource_type}"
    params = [(k, v) for k, v in query.echo if k != "_count"]

    def url(offset: int | None, include_offset: int = 0) -> str:
        items = [*params, ("_count", str(count))]
        if offset is not None:
            items.append(("_offset", str(offset)))
        if include_offset:
            items.append((INCLUDE_OFFSET, str(include_offset)))
        return f"{base}?{urlencode(items)}"

    # _include/_revinclude paging: a page holds at most include_limit included resources; the
    # rest come on pages of the same matches (not repeated) through the next link.
    included = result.included
    limit = query.include_limit
    more_included = limit is not None and len(included) > limit
    if limit is not None and more_included:
        included = included[:limit]
    links = [{"relation": "self", "url": url(query.offset or None, query.include_offset)}]
    if count > 0 and not query.summary_count:
        links.append({"relation": "first", "url": url(0)})
        if query.offset > 0:
            links.append({"relation": "previous", "url": url(max(0, query.offset - count))})
        if more_included and limit is not None:
            links.append(
                {"relation": "next", "url": url(query.offset, query.include_offset + limit)}
            )
        elif query.offset + count < result.total:
            links.append({"relation": "next", "url": url(query.offset + count)})
    matches = result.matches if query.include_offset == 0 else []
    entries: list[Resource] = [
        {"fullUrl": full_url(base_url, r), "resource": r, "search": {"mode": "match"}}
        for r in matches
    ]
    entries += [
        {"fullUrl": full_url(base_url, r), "resource": r, "search": {"mode": "include"}}
        for r in included
    ]
    bundle: Resource = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": result.total,
        "link": links,
    }
    if entries:
        bundle["entry"] = entries
    return bundle


def history_bundle(
    resource_type: str, resource_id: str, versions: list[VersionInfo], base_url: str
) -> Resource:
    """An instance ``history`` Bundle, newest first."""
    base = f"{base_url.rstrip('/')}/{resource_type}/{resource_id}"
    entries: list[Resource] = []
    for v in versions:
        entry: Resource = {"fullUrl": base}
        if v.resource is not None:
            entry["resource"] = v.resource
        entry["request"] = {
            "method": v.method,
            "url": f"{resource_type}/{resource_id}" if v.method != "POST" else resource_type,
        }
        entry["response"] = {
            "status": {"POST": "201 Created", "PUT": "200 OK", "DELETE": "204 No Content"}.get(
                v.method, "200 OK"
            ),
            "etag": f'W/"{v.version_id}"',
            "lastModified": v.last_updated,
        }
        entries.append(entry)
    bundle: Resource = {
        "resourceType": "Bundle",
        "type": "history",
        "total": len(entries),
        "link": [{"relation": "self", "url": f"{base}/_history"}],
    }
    if entries:
        bundle["entry"] = entries
    return bundle
