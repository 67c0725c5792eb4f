"""A streamed CSV attachment: the one answer the pages and the API give for a download."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, stream_with_context

CSV_TYPE = "text/csv; charset=utf-8"


def csv_response(chunks: Iterable[str], filename: str, *, no_store: bool = False) -> Response:
    """Stream the chunks as a CSV attachment named `filename`; the request context stays
    open until the last row. `no_store` forbids caching (the pages' downloads ask it)."""
    response = Response(stream_with_context(chunks), content_type=CSV_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if no_store:
        response.headers["Cache-Control"] = "no-store"
    return response
