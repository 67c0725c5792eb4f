"""WSGI entry point: `flask run`, gunicorn `wsgi:app`."""

from tracker import create_app

app = create_app()
