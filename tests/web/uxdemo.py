"""The bundled app with a small demo data set, seeded once per test module (uxpages' browser
tests), on each test backend; and a login helper that knows the demo password."""
from __future__ import annotations

import contextlib
from pathlib import Path

from playwright.sync_api import expect

from engine.cli import load_demo
from engine.clock import HeldClock
from engine.definitions.catalog import load_definitions
from engine.engine import Engine
from tests.conftest import throwaway_database

from .conftest import serving

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
PASSWORD = "demo-pass-123"
demo = load_demo(load_definitions(str(DEFINITIONS)).app)


@contextlib.contextmanager
def demo_app(backend: str, tmp: Path, customers: int = 30, orders: int = 40):
    """(engine, base URL) of the demo app with `customers` customers and `orders` orders."""
    urls = throwaway_database(backend, tmp / "demo.db")
    url = next(urls)
    clock = HeldClock()
    eng = Engine(str(DEFINITIONS), url, clock=clock, blobs=str(tmp / "blobs"))
    try:
        demo.seed(eng, clock, orders=orders, customers=customers, days=60, password=PASSWORD)
        with serving(eng, "uxpages") as base:
            yield eng, base
    finally:
        eng.close()
        urls.close()


def login(page, base, name):
    page.goto(base + "/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("a.me")).to_have_text(name)
