"""Browser fixtures: `loom`'s app under waitress on 127.0.0.1, and Debian's Chromium via Playwright."""
from __future__ import annotations

import os
import contextlib
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def serving(engine, secret_key: str, threads: int = 4):
    """The web app over `engine` served by waitress (as `loom serve` does) on a free port;
    yields the base URL and stops the server afterwards."""
    from waitress.server import create_server

    from web import create_app

    srv = create_server(create_app(engine, secret_key=secret_key), host="127.0.0.1", port=0,
                        threads=threads)
    closing = threading.Event()

    def run():
        try:
            srv.run()
        except OSError:  # select() on the sockets close() just shut (EBADF): the way it stops
            if not closing.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.effective_port}"
    finally:
        closing.set()
        srv.close()
        thread.join(timeout=5)


@pytest.fixture
def server(engine):
    with serving(engine, "browser-test") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shot(request):
    """shot(page, "name") saves tests/artifacts/<test>-<backend>-NN-name.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    counter = [0]
    test = request.node.name.replace("[", "-").replace("]", "")

    def take(page, name):
        counter[0] += 1
        page.screenshot(path=str(ARTIFACTS / f"{test}-{counter[0]:02d}-{name}.png"), full_page=True)
    return take


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(autouse=True)
def screenshots_on_failure(request):
    """A failing browser test leaves a screenshot of every page still open in
    tests/artifacts/<test>-FAILED-<n>.png (and its HTML beside it)."""
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is None or not rep.failed or "browser" not in request.fixturenames:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = request.node.name.replace("[", "-").replace("]", "")
    n = 0
    for ctx in request.getfixturevalue("browser").contexts:
        for page in ctx.pages:
            n += 1
            base = ARTIFACTS / f"{test}-FAILED-{n:02d}"
            with contextlib.suppress(Exception):  # a crashed page must not hide the failure
                page.screenshot(path=f"{base}.png", full_page=True)
                Path(f"{base}.html").write_text(page.content(), encoding="utf-8")
