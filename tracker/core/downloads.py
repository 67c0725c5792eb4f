"""A streamed CSV attachment: the one answer the pages and the API give for a download."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, stream_with_context

CSV_TYPE = "text/csv; charset=utf-8"


def csv_response(chunks: Iterable[str], filename: str) -> Response:
    """Stream the chunks as a CSV attachment named `filename`; the request context stays
    open until the last row. Never cached: a download is one person's view (the security
    headers' hook would say so too)."""
    response = Response(stream_with_context(chunks), content_type=CSV_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
