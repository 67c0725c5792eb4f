"""A served process freezes what create_app built, so the collector's passes skip it.

Without the freeze a full pass walks every module, mapped class and schema (~90 ms, every
60 or so pages: a request's p99). docs/adr/0252.
"""

from __future__ import annotations

from tests.perf.helpers import after_wsgi_import


def test_the_wsgi_app_leaves_only_what_requests_make_to_the_collector(tmp_path):
    script = (
        "import gc, json, wsgi\n"
        "print(json.dumps([gc.get_freeze_count(), len(gc.get_objects()), gc.get_threshold()]))"
    )
    frozen, tracked, threshold = after_wsgi_import(tmp_path, script)
    assert frozen > 50_000  # the app's own objects, not a handful
    assert tracked < frozen / 20, (frozen, tracked)
    assert threshold[0] == 10_000
