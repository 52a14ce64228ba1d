"""The session cookie's signature follows the app's keys, though the signer is built once."""
from __future__ import annotations


def test_a_new_secret_key_rejects_old_cookies_unless_kept_as_a_fallback(app, users):
    client = app.test_client()
    assert client.post("/api/session", json={"username": "alice", "password": "alice-pass-123"}).status_code == 201
    assert client.get("/api/tasks").status_code == 200
    app.secret_key = "another-key"
    assert client.get("/api/tasks").status_code == 401  # signed with the old key: no session
    app.config["SECRET_KEY_FALLBACKS"] = ["test-secret"]
    assert client.get("/api/tasks").status_code == 200
