"""WSGI entry point: `flask run`, gunicorn `wsgi:app`."""

from tracker import create_app

app = create_app()

if app.config.get("SCHEDULER_EMBEDDED"):  # `make run` only: see tracker.scheduling.trigger
    from tracker.scheduling.trigger import start_embedded

    start_embedded(app)
