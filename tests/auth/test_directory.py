"""Users' sessions and tokens end server-side when their password changes or they are stopped."""
from __future__ import annotations

import pytest

from engine.errors import NotAuthenticated, NotFound


def test_a_password_change_ends_every_session_but_not_api_tokens(engine, users):
    session = engine.users.create_token("alice", kind="session")
    api = engine.create_token("alice")
    engine.users.update("alice", password="a-new-pass-456")
    with pytest.raises(NotAuthenticated):
        engine.users.user_for_token(session, kind="session")
    assert engine.user_for_token(api).name == "alice"
    assert engine.authenticate("alice", "a-new-pass-456").name == "alice"


def test_a_deactivated_user_cannot_log_in_or_use_tokens_until_reactivated(engine, users):
    api = engine.create_token("bob")
    session = engine.users.create_token("bob", kind="session")
    engine.users.deactivate("bob")
    for token, kind in ((api, None), (session, "session")):
        with pytest.raises(NotAuthenticated):
            engine.users.user_for_token(token, kind=kind)
    with pytest.raises(NotAuthenticated):
        engine.authenticate("bob", "bob-pass-123")
    assert engine.users.find("bob") is None
    assert engine.users.reactivate("bob").name == "bob"
    assert engine.authenticate("bob", "bob-pass-123").name == "bob"
    with pytest.raises(NotAuthenticated):  # old tokens stay revoked
        engine.user_for_token(api)


def test_deactivating_an_unknown_user_says_so(engine):
    with pytest.raises(NotFound):
        engine.users.deactivate("nobody")
