"""Bounded API reads take one of a few read lanes; writes never do; a full lane only delays."""
from __future__ import annotations

import threading
import time

import pytest

from tests.api.conftest import order_data
from web import create_app
from web.read_lanes import ReadLanes


@pytest.fixture
def one_lane(engine):
    app = create_app(engine, secret_key="test-secret",
                     config={"LOOM_READ_LANES": 1, "LOOM_READ_LANE_WAIT": 0})
    return app, app.extensions["loom.read_lanes"]


def _client(app, engine, name):
    client, headers = app.test_client(), {"Authorization": f"Bearer {engine.create_token(name)}"}
    return lambda method, path, **kw: getattr(client, method)(path, headers=headers, **kw)


def test_a_lane_is_taken_and_given_back_or_waited_out():
    lanes = ReadLanes(1, 0)
    assert lanes.enter() is True
    assert lanes.enter() is False  # full: waited 0 s, the caller runs anyway
    lanes.leave()
    assert lanes.enter() is True
    assert ReadLanes(0, 1).enter() is False  # off


def test_two_lanes_hold_two_readers_and_a_third_waits_at_most_its_wait():
    lanes = ReadLanes(2, 0.2)
    holding, release = threading.Barrier(3), threading.Event()
    taken = []

    def reader():
        taken.append(lanes.enter())
        holding.wait()
        release.wait()
        lanes.leave()  # the lane this thread took

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for r in readers:
        r.start()
    holding.wait()
    start = time.monotonic()
    assert lanes.enter() is False  # both held: waited out, the caller runs anyway
    assert 0.15 < time.monotonic() - start < 2
    release.set()
    for r in readers:
        r.join()
    assert taken == [True, True]
    assert lanes.enter() is True and lanes.enter() is True  # both given back
    lanes.leave()
    lanes.leave()


def test_a_read_gives_its_lane_back_even_when_it_fails(engine, users, one_lane):
    app, lanes = one_lane
    call = _client(app, engine, "alice")
    assert call("get", "/api/tasks").status_code == 200
    assert call("get", "/api/forms/sales_order/records/999999").status_code == 404
    assert lanes.enter() is True  # both left their lane
    lanes.leave()


def test_reads_run_when_every_lane_is_held_too_long_and_writes_never_wait(engine, users, catalog, one_lane):
    app, lanes = one_lane
    call = _client(app, engine, "alice")
    assert lanes.enter() is True  # someone holds the only lane
    try:
        created = call("post", "/api/forms/sales_order/records", json={"data": order_data(catalog)})
        assert created.status_code == 201  # a write takes no lane
        rid = created.get_json()["id"]
        assert call("get", f"/api/forms/sales_order/records/{rid}").status_code == 200  # waited out
    finally:
        lanes.leave()
    assert lanes.enter() is True  # the read that ran without a lane gave none back
    lanes.leave()
    with pytest.raises(ValueError):  # and gave none back it never took
        lanes.leave()


def _wsgi_get(app, engine, name, path):
    """The app's WSGI answer to a GET as a server sees it, before the server has written it."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=path, headers={
        "Authorization": f"Bearer {engine.create_token(name)}"}).get_environ()
    started = []
    answer = app.wsgi_app(environ, lambda status, headers, exc_info=None: started.append(status))
    return started, answer


def test_an_api_read_keeps_its_lane_until_the_server_has_written_its_answer(engine, users, one_lane):
    app, lanes = one_lane
    started, answer = _wsgi_get(app, engine, "alice", "/api/tasks")
    assert started == ["200 OK"]
    assert lanes.enter() is False  # still held while the server writes the answer
    body = b"".join(answer)
    assert lanes.enter() is False
    # the server has written it (here closing it on a thread of its own, as a server may):
    # the next reader goes on without overlapping
    closer = threading.Thread(target=answer.close)
    closer.start()
    closer.join()
    assert lanes.enter() is True
    lanes.leave()
    assert body == _client(app, engine, "alice")("get", "/api/tasks").get_data()
    answer.close()  # a second close gives back nothing more
    assert lanes.enter() is True
    lanes.leave()


def test_an_api_read_that_waited_out_the_lane_leaves_nothing_when_written(engine, users, one_lane):
    app, lanes = one_lane
    assert lanes.enter() is True  # someone holds the only lane
    try:
        started, answer = _wsgi_get(app, engine, "alice", "/api/tasks")
        assert started == ["200 OK"]
        b"".join(answer)
        getattr(answer, "close", lambda: None)()
    finally:
        lanes.leave()
    assert lanes.enter() is True
    lanes.leave()
    with pytest.raises(ValueError):
        lanes.leave()
