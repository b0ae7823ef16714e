"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from wijkbudget import create_app

app = create_app()
