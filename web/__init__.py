"""Loom's web UI and JSON API: `create_app(engine)` builds the Flask app."""
from .app import create_app as create_app
