"""Static files under URLs that change with their content, cached by browsers for a year.

`url_for("static", filename=...)` adds `?v=` and the first 12 hex digits of the file's
SHA-256, so a deployment that changes app.css changes its URL and no browser keeps the
old one. A request whose `v` is the file's current version is answered with
`Cache-Control: public, max-age=31536000, immutable`; any other (no `v`, or an old one)
with `no-cache`, so it is revalidated against the ETag and never served stale.
"""

from __future__ import annotations

import functools
import hashlib
import stat
from pathlib import Path

from flask import Flask, Response, current_app, request

YEAR = 365 * 24 * 3600
_versions: dict[tuple[str, int], str] = {}  # (path, mtime_ns) -> version


def version_of(filename: str) -> str | None:
    """The file's content version (None when there is no such file); hashed once per
    modification, so editing a file while the server runs gives it a new URL. One stat
    per call: where a name leads is resolved once (a page builds three such URLs, and
    resolving a path walks each of its folders)."""
    path = _inside(current_app.static_folder or "", filename)
    try:
        found = path.stat() if path is not None else None
    except OSError:
        found = None
    if found is None or not stat.S_ISREG(found.st_mode):
        return None
    key = (str(path), found.st_mtime_ns)
    if key not in _versions:
        _versions[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return _versions[key]


@functools.lru_cache(maxsize=256)
def _inside(folder: str, filename: str) -> Path | None:
    """The file's resolved path, or None when the name leads outside the folder."""
    root = Path(folder).resolve()
    path = (root / filename).resolve()
    return path if root in path.parents else None


def add_version(endpoint: str, values: dict) -> None:
    """url_defaults: `?v=<version>` on every static URL the app builds."""
    if endpoint == "static" and "filename" in values and "v" not in values:
        version = version_of(values["filename"])
        if version is not None:
            values["v"] = version


def cache_static(response: Response) -> Response:
    """after_request: a year for the current version of a file, revalidation otherwise."""
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    filename = (request.view_args or {}).get("filename", "")
    current = request.args.get("v") is not None and request.args["v"] == version_of(filename)
    if current:
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    app.url_defaults(add_version)
    app.after_request(cache_static)
