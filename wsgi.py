"""WSGI entry point: `flask run`, gunicorn `wsgi:app`."""

import gc

from tracker.core.deferred_imports import deferring, without_greenlet

# Libraries import these at their own import; a worker uses them rarely or never, and each
# stays resident (issue 29, ADR 0256): run at first use instead. greenlet is SQLAlchemy's
# asyncio bridge, unused here, with the C++ runtime it links.
DEFERRED_MODULES = ("yaml", "pdb", "urllib.request")

with without_greenlet(), deferring(DEFERRED_MODULES):
    from tracker import create_app

    app = create_app()

# What create_app built (modules, mapped classes, routes, schemas: ~160,000 tracked
# objects) lives as long as the process. Frozen, the collector's full passes stop walking
# it (each took ~90 ms of a request's time every 60 or so pages), and with a larger first
# generation a page of ORM rows triggers about one young collection instead of fifteen.
# Why and what was measured: docs/adr/0252.
gc.collect()
gc.freeze()
gc.set_threshold(10_000, 20, 20)

if app.config.get("SCHEDULER_EMBEDDED"):  # `make run` only: see tracker.scheduling.trigger
    from tracker.scheduling.trigger import start_embedded

    start_embedded(app)
