"""An app with file fields (tests/fixtures/files): staff own claims, auditors read them all."""
from __future__ import annotations

import pytest

from engine.engine import Engine
from tests.conftest import FIXTURES
from web import create_app

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


@pytest.fixture
def engine(database_url, clock, tmp_path):
    eng = Engine(str(FIXTURES / "files"), database_url, clock=clock, blobs=str(tmp_path / "blobs"))
    for name, roles in (("sara", ["staff"]), ("tom", ["staff"]), ("audrey", ["auditor"])):
        eng.add_user(name, roles, email=f"{name}@example.com", password=f"{name}-pass-123")
    yield eng
    eng.close()


@pytest.fixture
def users(engine):
    return {n: engine.user(n) for n in ("sara", "tom", "audrey")}


@pytest.fixture
def app(engine):
    app = create_app(engine, secret_key="files-test")
    app.config["TESTING"] = True
    return app


@pytest.fixture
def token(engine):
    return lambda name: {"Authorization": f"Bearer {engine.create_token(name)}"}
