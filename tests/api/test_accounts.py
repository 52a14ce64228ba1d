"""Accounts through the HTTP API, the pages and the CLI: lockout counted since the last
success and identical for unknown names, addresses slowed down (not locked), admin
unlock, password policy, forgot-password by email, TOTP two-factor login, sessions."""
from __future__ import annotations

import calendar
import re
import shutil

import pyotp
import pytest
from click.testing import CliRunner

from engine.auth import passwords, policy
from engine.cli import load_demo, main
from engine.definitions.catalog import load_definitions
from tests.alerts.conftest import smtp  # noqa: F401  (the fixture: a real SMTP server)
from tests.conftest import VALID, make_engine
from web import create_app

from .conftest import TOKEN_RE


def login(client, name, password, addr="10.0.0.1", **extra):
    return client.post("/api/session", json={"username": name, "password": password, **extra},
                       environ_base={"REMOTE_ADDR": addr})


def code_now(secret: str, clock, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(calendar.timegm(clock.now().utctimetuple()) + 30 * steps)


@pytest.fixture
def browser(app):
    """browser(name, password) → a logged-in page client with .send() carrying the CSRF token."""
    def make(name: str, password: str | None = None, addr: str = "10.0.0.1"):
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = addr
        token = TOKEN_RE.search(c.get("/login").text).group(1)
        c.last = c.post("/login", data={"username": name, "password": password or f"{name}-pass-123",
                                        "csrf_token": token})
        c.send = lambda url, data=None, **kw: c.post(
            url, data={"csrf_token": TOKEN_RE.search(c.get("/login").text).group(1), **(data or {})}, **kw)
        return c
    return make


# --- lockout -------------------------------------------------------------------------


def test_a_successful_login_resets_the_failure_count(client):
    for _ in range(2):
        assert [login(client, "alice", "wrong").status_code for _ in range(4)] == [401] * 4
        assert login(client, "alice", "alice-pass-123").status_code == 201


def test_unknown_names_get_the_same_answers_as_real_ones(client):
    def answers(name, addr):
        out = []
        for _ in range(7):
            r = login(client, name, "wrong-guess", addr)
            out.append((r.status_code, r.json["error"]["code"], r.json["error"]["message"]))
        return out

    real, unknown = answers("alice", "10.0.0.2"), answers("nobody-at-all", "10.0.0.3")
    assert [s for s, _, _ in real] == [401] * 5 + [429] * 2
    assert real == unknown


def test_an_unknown_name_costs_a_password_hash_like_a_real_one(client, engine, monkeypatch):
    import time

    monkeypatch.setattr(passwords, "N", 2 ** 14)  # the production cost (the suite's is lower)
    engine.accounts.set_password("alice", "alice-pass-1234")  # her hash at that cost too

    def timed(name, addr, i):
        start = time.perf_counter()
        assert login(client, name, f"wrong-{i}", addr).status_code == 401
        return time.perf_counter() - start

    # alternated, fastest of four each: a busy moment on a shared machine slows both alike
    pairs = [(timed("alice", "10.0.1.1", i), timed("nobody-at-all", "10.0.1.2", i))
             for i in range(4)]  # four wrong guesses: the lock comes at the fifth
    real, unknown = min(p[0] for p in pairs), min(p[1] for p in pairs)
    assert unknown > real / 2, (real, unknown)  # both pay one scrypt; without it unknown is ~50x faster


def test_a_locked_account_opens_again_after_15_minutes(client, clock):
    for _ in range(5):
        login(client, "bob", "wrong")
    r = login(client, "bob", "bob-pass-123")
    assert r.status_code == 429 and r.json["error"]["code"] == "locked"
    clock.advance(minutes=15, seconds=1)
    assert login(client, "bob", "bob-pass-123").status_code == 201


def test_one_address_is_slowed_down_with_growing_delays_without_locking_accounts(client, clock):
    attacker = "10.6.6.6"
    for i in range(10):  # one guess each at ten names: no account reaches its lock
        assert login(client, f"user{i}", "guess", attacker).status_code == 401
    r = login(client, "alice", "alice-pass-123", attacker)
    assert r.status_code == 429 and r.json["error"]["code"] == "throttled"
    assert r.headers["Retry-After"] == "1"
    assert login(client, "alice", "alice-pass-123", "10.0.0.9").status_code == 201  # elsewhere: fine
    clock.advance(seconds=1)
    assert login(client, "alice", "alice-pass-123", attacker).status_code == 201  # the account is open
    assert login(client, "bob", "guess", attacker).status_code == 401  # 11th failure: now wait 2 s
    clock.advance(seconds=1)
    assert login(client, "bob", "bob-pass-123", attacker).status_code == 429
    clock.advance(seconds=1)
    assert login(client, "bob", "bob-pass-123", attacker).status_code == 201


def test_admin_sees_the_lock_and_unlocks_it_through_the_api(client, api):
    for _ in range(5):
        login(client, "bob", "wrong")
    root = api("root")
    bob = root.get("/api/users/bob").json
    assert bob["locked"] is True and bob["locked_until"] == "2026-03-02T09:15:00"
    assert {u["name"]: u["locked"] for u in root.get("/api/users").json["items"]}["bob"] is True
    assert api("alice").get("/api/users").status_code == 403
    assert api("alice").post("/api/users/bob/unlock").status_code == 403
    assert root.post("/api/users/nobody/unlock").status_code == 404
    r = root.post("/api/users/bob/unlock")
    assert r.status_code == 200 and r.json["locked"] is False
    assert login(client, "bob", "bob-pass-123").status_code == 201


def test_admin_page_shows_the_lock_and_an_unlock_button(client, browser):
    for _ in range(5):
        login(client, "bob", "wrong")
    root = browser("root")
    page = root.get("/admin").text
    assert 'id="locked-bob"' in page and "9:15\u202fAM" in page and 'id="locked-alice"' not in page
    assert root.send("/admin/users/bob", {"what": "unlock"}).status_code == 302
    assert 'id="locked-bob"' not in root.get("/admin").text
    assert login(client, "bob", "bob-pass-123").status_code == 201


def test_an_admin_password_reset_unlocks_the_account(client, browser):
    for _ in range(5):
        login(client, "bob", "wrong")
    root = browser("root")
    assert root.send("/admin/users/bob", {"what": "password", "password": "password"}).status_code == 422
    assert root.send("/admin/users/bob", {"what": "password", "password": "bob-fresh-start-7"}).status_code == 302
    assert login(client, "bob", "bob-fresh-start-7").status_code == 201


def test_cli_unlock_password_and_status(tmp_path):
    from engine.engine import Engine
    from engine.errors import Locked

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    eng = Engine(str(VALID), url)  # the real clock, as the CLI has
    eng.add_user("ann", ["sales"], password="ann-pass-123")
    for _ in range(5):
        with pytest.raises(Exception):
            eng.authenticate("ann", "wrong")
    with pytest.raises(Locked):
        eng.authenticate("ann", "ann-pass-123")
    common = ["--definitions", str(VALID), "--database", url]
    run = CliRunner().invoke
    status = run(main, ["user", "status", "ann", *common])
    assert status.exit_code == 0 and "ann: locked until" in status.stdout, status.output
    assert run(main, ["user", "unlock", "ann", *common]).stdout == "unlocked ann\n"
    assert eng.authenticate("ann", "ann-pass-123").name == "ann"
    weak = run(main, ["user", "password", "ann", "--password", "12345678", *common])
    assert weak.exit_code == 1 and "too common" in weak.stderr
    assert run(main, ["user", "password", "ann", "--password", "ann-other-pass-4", *common]).exit_code == 0
    assert eng.authenticate("ann", "ann-other-pass-4").name == "ann"
    missing = run(main, ["user", "unlock", "nobody", *common])
    assert missing.exit_code == 1 and "no user 'nobody'" in missing.stderr
    eng.close()


def test_cli_reset_2fa_turns_a_users_two_factor_off(tmp_path):
    from engine.engine import Engine
    from engine.errors import SecondFactorRequired

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    eng = Engine(str(VALID), url)
    eng.add_user("ann", ["sales"], password="ann-pass-123")
    secret = eng.accounts.start_enrolment("ann")["secret"]
    eng.accounts.confirm_enrolment("ann", code_now(secret, eng.clock))
    with pytest.raises(SecondFactorRequired):
        eng.authenticate("ann", "ann-pass-123")
    common = ["--definitions", str(VALID), "--database", url]
    assert "two-factor on" in CliRunner().invoke(main, ["user", "status", "ann", *common]).stdout
    r = CliRunner().invoke(main, ["user", "reset-2fa", "ann", *common])
    assert r.exit_code == 0 and r.stdout == "two-factor login is off for ann\n"
    assert eng.authenticate("ann", "ann-pass-123").name == "ann"
    eng.close()


# --- password policy -------------------------------------------------------------------


def test_new_passwords_follow_the_policy_on_every_surface(browser, tmp_path):
    alice = browser("alice")
    for bad, why in (("short", "at least 8 characters"), ("Password123", "too common"),
                     ("aaaaaaaaaaaa", "too simple"), ("x" * 1025, "at most 1024 characters")):
        r = alice.send("/account", {"what": "password", "current_password": "alice-pass-123",
                                    "new_password": bad})
        assert r.status_code == 422 and why in r.text, bad
    root = browser("root")
    r = root.send("/admin/users", {"name": "carol", "password": "qwerty123", "roles": ["sales"]})
    assert r.status_code == 422 and "too common" in r.text
    added = CliRunner().invoke(main, ["user", "add", "dan", "--password", "iloveyou", "--definitions", str(VALID),
                                      "--database", f"sqlite:///{tmp_path / 'p.db'}"])
    assert added.exit_code == 1 and "too common" in added.stderr


@pytest.mark.outbox_ok  # the demo's alerts queue email; delivery is not under test
def test_the_demo_passwords_pass_the_policy(database_url, clock):
    app = VALID.parent.parent.parent / "definitions"
    demo = load_demo(load_definitions(str(app)).app)  # as `loom serve --demo` finds it
    eng = make_engine(app, database_url, clock)
    try:
        logins = demo.seed(eng, eng.clock, orders=2, customers=2, days=3)
    finally:
        eng.close()
    assert logins and all(policy.problem(pw, name) is None for name, pw in logins.items())


# --- forgot password --------------------------------------------------------------------


def reset_links(engine, smtp) -> list[str]:
    engine.deliver_outbox()
    return [re.search(r"http://localhost/reset/(\S+)", m.get_body(("plain",)).get_content()).group(1)
            for m in smtp.messages]


def test_forgot_password__one_emailed_link_works_once_and_unlocks(client, engine, smtp):
    for _ in range(5):
        login(client, "alice", "wrong")
    asked = client.post("/api/password-reset", json={"username": "alice"})
    unknown = client.post("/api/password-reset", json={"username": "nobody"})
    by_email = client.post("/api/password-reset", json={"username": "ALICE@example.com"})
    assert asked.status_code == unknown.status_code == by_email.status_code == 202
    assert asked.json == unknown.json == by_email.json
    tokens = reset_links(engine, smtp)
    assert len(tokens) == 2 and [str(m["To"]) for m in smtp.messages] == ["alice <alice@example.com>"] * 2
    page = client.get(f"/reset/{tokens[0]}")
    assert page.status_code == 200 and "alice" in page.text
    weak = client.post("/api/password-reset/confirm", json={"token": tokens[0], "password": "password1"})
    assert weak.status_code == 422 and weak.json["error"]["fields"]["password"].startswith("too common")
    ok = client.post("/api/password-reset/confirm", json={"token": tokens[0], "password": "alice-new-pass-7"})
    assert ok.status_code == 204
    again = client.post("/api/password-reset/confirm", json={"token": tokens[0], "password": "alice-new-pass-8"})
    assert again.status_code == 401 and "not valid any more" in again.json["error"]["message"]
    # using one link retires the other; the lock is gone and the old password too
    assert client.post("/api/password-reset/confirm",
                       json={"token": tokens[1], "password": "alice-new-pass-9"}).status_code == 401
    assert login(client, "alice", "alice-pass-123").status_code == 401
    assert login(client, "alice", "alice-new-pass-7").status_code == 201


def test_forgot_password__links_use_loom_base_url_not_the_askers_host(app, client, engine, smtp):
    app.config["LOOM_BASE_URL"] = "https://loom.example.com/"
    client.post("/api/password-reset", json={"username": "bob"}, headers={"Host": "evil.example"})
    engine.deliver_outbox()
    [mail] = smtp.messages
    text = mail.get_body(("plain",)).get_content()
    assert "https://loom.example.com/reset/loom_" in text and "evil.example" not in text


def test_forgot_password__the_link_expires_after_30_minutes(client, engine, smtp, clock, browser):
    page = client.post("/forgot", data={"who": "bob", "csrf_token": TOKEN_RE.search(client.get("/forgot").text).group(1)})
    assert page.status_code == 200 and 'id="forgot-message"' in page.text
    [token] = reset_links(engine, smtp)
    clock.advance(minutes=31)
    assert client.get(f"/reset/{token}").status_code == 404
    assert client.post("/api/password-reset/confirm",
                       json={"token": token, "password": "bob-new-pass-77"}).status_code == 401


def test_forgot_password__rate_limited_per_account_silently_and_per_address_openly(client, engine, smtp):
    answers = [client.post("/api/password-reset", json={"username": "bob"},
                           environ_base={"REMOTE_ADDR": f"10.1.0.{i}"}).status_code for i in range(5)]
    assert answers == [202] * 5
    assert len(reset_links(engine, smtp)) == 3  # three emails an hour per account
    from_one = [client.post("/api/password-reset", json={"username": f"x{i}"},
                            environ_base={"REMOTE_ADDR": "10.2.0.1"}).status_code for i in range(11)]
    assert from_one == [202] * 10 + [429]


# --- two-factor ----------------------------------------------------------------------------


def enrol(c, clock) -> tuple[str, list[str]]:
    page = c.send("/account/2fa", {"what": "start"}).text
    assert "<svg" in page and 'id="twofactor-qr"' in page
    secret = re.search(r'id="twofactor-secret">([A-Z2-7]+)<', page).group(1)
    bad = c.send("/account/2fa", {"what": "confirm", "code": "000000"})
    assert bad.status_code == 422
    done = c.send("/account/2fa", {"what": "confirm", "code": code_now(secret, clock)})
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", done.text)
    assert done.status_code == 200 and len(codes) == 10
    return secret, codes


def test_two_factor__enrol_then_log_in_with_a_code_or_a_recovery_code(browser, client, clock):
    alice = browser("alice")
    secret, codes = enrol(alice, clock)
    clock.advance(seconds=30)
    c = browser("alice")
    assert c.last.status_code == 302 and c.last.headers["Location"].startswith("/login/code")
    assert c.get("/").status_code == 302  # not logged in yet
    token = TOKEN_RE.search(c.get("/login/code").text).group(1)
    assert c.post("/login/code", data={"code": "123456", "csrf_token": token}).status_code == 401
    code = code_now(secret, clock)
    assert c.post("/login/code", data={"code": code, "csrf_token": token}).status_code == 302
    assert c.get("/").status_code == 200
    # over the API: the code goes with the password; a used code is not accepted again
    r = login(client, "alice", "alice-pass-123")
    assert r.status_code == 401 and r.json["error"]["code"] == "second_factor_required"
    assert login(client, "alice", "alice-pass-123", otp=code).status_code == 401
    assert login(client, "alice", "alice-pass-123", otp=codes[0].upper()).status_code == 201
    assert login(client, "alice", "alice-pass-123", otp=codes[0]).status_code == 401  # once only
    assert login(client, "alice", "alice-pass-123", otp=code_now(secret, clock, 1)).status_code == 201
    # wrong codes count as failed logins
    for _ in range(5):
        assert login(client, "alice", "alice-pass-123", otp="999999").status_code == 401
    assert login(client, "alice", "alice-pass-123", otp=codes[1]).status_code == 429


def test_two_factor__required_by_role_in_app_yaml(tmp_path, database_url, clock):
    app_dir = tmp_path / "app"
    shutil.copytree(VALID, app_dir)
    app_yaml = app_dir / "app.yaml"
    app_yaml.write_text(app_yaml.read_text() + "require_2fa: [finance]\n")
    eng = make_engine(app_dir, database_url, clock)
    try:
        eng.add_user("fiona", ["finance"], password="fiona-pass-123")
        eng.add_user("alice", ["sales"], password="alice-pass-123")
        app = create_app(eng, secret_key="t")
        c = app.test_client()
        token = TOKEN_RE.search(c.get("/login").text).group(1)
        c.post("/login", data={"username": "fiona", "password": "fiona-pass-123", "csrf_token": token})
        r = c.get("/")
        assert r.status_code == 302 and r.headers["Location"] == "/account/2fa"
        assert c.get("/api/definitions").json["error"]["code"] == "two_factor_required"
        assert 'id="twofactor-required"' in c.get("/account/2fa").text
        token = TOKEN_RE.search(c.get("/account/2fa").text).group(1)  # the session's new token
        c.send = lambda url, data: c.post(url, data={"csrf_token": token, **data})
        secret, _ = enrol(c, clock)
        assert c.get("/").status_code == 200
        off = c.send("/account/2fa", {"what": "disable", "password": "fiona-pass-123"})
        assert off.status_code == 409  # the role requires it
        other = app.test_client()
        other.post("/login", data={"username": "alice", "password": "alice-pass-123",
                                   "csrf_token": TOKEN_RE.search(other.get("/login").text).group(1)})
        assert other.get("/").status_code == 200  # sales is not in require_2fa
    finally:
        eng.close()


def test_require_2fa_names_only_known_roles(tmp_path):
    app_dir = tmp_path / "app"
    shutil.copytree(VALID, app_dir)
    app_yaml = app_dir / "app.yaml"
    app_yaml.write_text(app_yaml.read_text() + "require_2fa: [admin, finanse]\n")
    r = CliRunner().invoke(main, ["check", str(app_dir)])
    assert r.exit_code == 1
    assert ("app.yaml:13:22: require_2fa names role 'finanse', which the app does not define (roles: admin, "
            "finance, general_manager, purchasing, sales, sales_manager, warehouse); did you mean 'finance'? "
            "[LOOM-E082]") in r.stdout


def test_admin_turns_off_a_users_two_factor_for_a_lost_phone(browser, client, clock):
    secret, _ = enrol(browser("bob"), clock)
    root = browser("root")
    assert 'id="reset-2fa-bob"' in root.get("/admin").text
    assert root.send("/admin/users/bob", {"what": "reset_2fa"}).status_code == 302
    assert login(client, "bob", "bob-pass-123").status_code == 201


# --- sessions ---------------------------------------------------------------------------


def test_sessions__listed_and_log_out_everywhere_else(app, browser):
    first, second = browser("alice", addr="10.0.0.5"), browser("alice", addr="10.0.0.6")
    api = app.test_client()
    r = login(api, "alice", "alice-pass-123", "10.0.0.7")
    csrf = r.json["csrf_token"]
    items = api.get("/api/sessions").json["items"]
    assert [s["address"] for s in items] == ["10.0.0.7", "10.0.0.6", "10.0.0.5"]
    assert [s["current"] for s in items] == [True, False, False]
    page = first.get("/account").text
    assert 'id="logout-everywhere"' in page and "10.0.0.6" in page
    assert api.delete("/api/sessions", headers={"X-CSRFToken": csrf}).json == {"ended": 2}
    assert first.get("/").status_code == 302 and second.get("/").status_code == 302
    assert api.get("/api/session").status_code == 200
    third = browser("alice", addr="10.0.0.8")
    assert third.send("/account/sessions").status_code == 302  # the page's button
    assert api.get("/api/session").status_code == 401 and third.get("/").status_code == 200
