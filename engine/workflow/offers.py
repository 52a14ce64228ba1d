"""What a step offers a user, as far as the step, their roles and ownership decide it.

`available_actions` runs every candidate action's own `check`, the checks `act`
runs. Many answers need nothing but the record's form and step, the user's roles
and admin flag, and whether they own the record: approve refused to an owner
who may not approve their own records, a declared action refused to another
role, withdraw refused to anyone but the owner; comment, cc and reassign offered
to the owner, whom the check only asks for a text or a user; a declared action
whose move has no `if` offered to its roles, with where it leads. `plan` finds
those by running the very same `handler` and `check` once on a probe `Run` that
knows only that (and fires the step's real machine, which answers a move without
an `if` without asking the record). Anything else a check asks (the record's values for an `if`, its id,
tasks or history, the database, the clock, another user, the acting user's name
other than against the owner) raises `_Unknown` there, and such an action is
checked in full on every request. Nothing is written down twice, so the offers
cannot drift from `act`. (So a check must ask everything through its `Run`, never
turn an exception it did not expect into a refusal, nor ask `is None` of the
owner or the user's name.)

A plan depends on the definitions and on the key alone: it lives on the
`WorkflowService`, one per runtime snapshot (a reload of definitions starts
with none), and the key holds the roles, which are read afresh on every request.
"""
from __future__ import annotations

from ..errors import ActionRefused, Conflict, PermissionDenied, ValidationFailed
from . import actions as A

REFUSED, OFFERED, CHECK = "refused", "offered", "check"
PLANS_SIZE = 4096
ASKS_ONLY = frozenset({"comment", "to"})  # an action that only asks for these is offered
_UNSET = object()


class _Unknown(Exception):
    """The probe was asked something beyond the step, the roles and ownership."""


class _Known:
    """Has the attributes it was given; asking for any other raises `_Unknown`."""

    def __init__(self, **known):
        self.__dict__.update(known)

    def __getattr__(self, name):
        raise _Unknown(name)


class _Name:
    """The acting user's name on the probe: it equals itself (the record's owner, when they
    own it) and nothing else it can know; any other use of it raises `_Unknown`."""

    __slots__ = ()

    def __eq__(self, other):
        if isinstance(other, _Name):
            return self is other
        raise _Unknown("name")

    def __hash__(self):
        raise _Unknown("name")

    def __bool__(self):
        raise _Unknown("name")

    def __str__(self):  # only ever formatted into a refusal's message, which is dropped
        return "someone"


def key(run) -> tuple:
    user = run.user
    return (run.rec.form, run.rec.state, user.roles, user.is_admin, run.rec.owner == user.name)


def plan(flow, run) -> tuple:
    """((action name, REFUSED | OFFERED | CHECK, what the check worked out), ...) in
    candidate order for the run's key; worked out on first use, then remembered on `flow`
    (its runtime snapshot). What the check worked out (an OFFERED action's destination)
    goes onto a fresh handler for describing it."""
    k = key(run)
    found = flow.offer_plans.get(k)
    if found is None:
        if len(flow.offer_plans) >= PLANS_SIZE:
            flow.offer_plans.clear()
        found = flow.offer_plans[k] = _work_out(flow, *k)
    return found


def _work_out(flow, form: str, state: str, roles: frozenset, is_admin: bool, owns: bool) -> tuple:
    me = _Name()
    probe = A.Run(_Known(rt=flow.rt), _Known(), _Known(name=me, roles=roles, is_admin=is_admin),
                  _Known(form=form, state=state, owner=me if owns else _Name()))
    return tuple((name, *_verdict(probe, name)) for name in A.candidates(probe))


def _verdict(probe, name: str) -> tuple[str, tuple | None]:
    try:
        h = A.handler(probe, name)
        before = dict(vars(h))
        h.check(probe)
    except (ActionRefused, Conflict, PermissionDenied):
        return REFUSED, None
    except ValidationFailed as exc:
        if not set(exc.fields) <= ASKS_ONLY:
            return REFUSED, None
        return _offered(h, before)
    except Exception:  # _Unknown, or a probe value used in a way it cannot answer
        return CHECK, None
    return _offered(h, before)


def _offered(h, before: dict) -> tuple[str, tuple | None]:
    """Offered, with what the check set on the handler; only names (a destination) can have
    come from the step alone, so anything else sends the action to a check per request."""
    worked_out = {k: v for k, v in vars(h).items() if before.get(k, _UNSET) is not v}
    if all(v is None or type(v) is str for v in worked_out.values()):
        return OFFERED, tuple(worked_out.items())
    return CHECK, None
