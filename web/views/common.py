"""What every page needs: the user's language, labels, nav counts, permissions helpers."""
from __future__ import annotations


from flask import current_app, g, request
from flask_login import current_user, login_required

from .. import formatting, i18n
from ..workflow_view import unread_count


def engine():
    return current_app.extensions["loom.engine"]


LANG_COOKIE = i18n.LANG_COOKIE
lang = i18n.current_language


def zone() -> str:
    """The reader's time zone: their setting, else the app's `time_zone`."""
    if "zone" not in g:
        g.zone = current_user.user.time_zone if current_user.is_authenticated and \
            current_user.user.time_zone else engine().defs.app.time_zone
    return g.zone


def t(key: str, **values) -> str:
    return i18n.text_with(key, lang(), **values) if values else i18n.text(key, lang())


def moment(value) -> str:
    """A date or timestamp as the reader reads it (their language and time zone)."""
    return i18n.moment(value, lang(), zone())


def number(value, places: int | None = None, money: bool = False) -> str:
    return i18n.number(value, lang(), places, engine().defs.app.currency if money else None)


def msg(raw) -> str:
    """An engine message in the reader's language."""
    return i18n.message(raw, lang())


def label(obj, fallback: str = "") -> str:
    """A definition Label (or anything with `.label`/`.title`) in the user's language."""
    if obj is None:
        return fallback
    if hasattr(obj, "texts"):
        return obj.get(lang()) or fallback
    for attr in ("label", "title"):
        v = getattr(obj, attr, None)
        if v is not None and hasattr(v, "texts"):
            return v.get(lang()) or fallback or getattr(obj, "name", "") or getattr(obj, "id", "")
    return str(obj)


def option_label(field, option: str) -> str:
    for opt, lbl in field.option_labels:
        if opt == option:
            return lbl.get(lang())
    return option


def readable_forms(eng, user) -> list:
    out = []
    for f in eng.defs.forms.values():
        roles = set(f.permissions.read) | set(f.permissions.create)
        if user.is_admin or not f.permissions.read or user.roles & roles:
            out.append(f)
    return out


def can_run_report(eng, user, rep) -> bool:
    return eng.can_run_report(user, rep.id)


def visible_reports(eng, user) -> list:
    return [r for r in eng.defs.reports.values() if can_run_report(eng, user, r)]


def page_login_required(view):
    return login_required(view)


def install(app) -> None:
    @app.context_processor
    def _globals():
        language = lang()
        ctx = {"t": t, "label": label, "lang": language, "option_label": option_label,
               "act_label": lambda name, wf=None: i18n.action_label(name, lang(), workflow=wf),
               "moment": moment, "number": number, "msg": msg, "texts": i18n.TEXTS,
               "app_languages": engine().defs.app.languages, "fmt_size": formatting.fmt_size,
               "fmt_number": lambda v, places=None: formatting.fmt_number(v, language, places)}
        if current_user.is_authenticated:
            eng = engine()
            if "unread" not in g:
                try:
                    g.unread = unread_count(eng, current_user.user)
                except Exception:  # a notifications bug must not take every page down
                    current_app.logger.exception("unread count failed")
                    g.unread = 0
            ctx.update(form_label=lambda fid: _form_label(eng, fid), step_label=lambda fid, st: _step_label(eng, fid, st),
                       role_label=lambda name: _role_label(eng, name))
            if "open_tasks" not in g:
                try:
                    g.open_tasks = eng.task_count(current_user.user)
                except Exception:  # a count bug must not take every page down
                    current_app.logger.exception("open task count failed")
                    g.open_tasks = 0
            ctx.update(me=current_user.user, unread=g.unread, open_tasks=g.open_tasks,
                       app_title=label(eng.defs.app.title) or "Loom")
        else:
            ctx.update(me=None, unread=0, open_tasks=0, app_title=label(engine().defs.app.title) or "Loom")
        return ctx

    @app.after_request
    def _remember_language(resp):
        # the login page's switch: keep the choice until the user logs in (then their setting rules)
        asked = request.args.get("lang")
        if asked and not current_user.is_authenticated and asked in engine().defs.app.languages:
            resp.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, samesite="Lax", httponly=True)
        return resp


def _role_label(eng, name: str) -> str:
    role = next((r for r in eng.defs.app.roles if r.name == name), None)
    return label(role.label, name) if role is not None and role.label else name


def _form_label(eng, form_id: str) -> str:
    spec = eng.defs.forms.get(form_id)
    return label(spec.title, form_id) if spec is not None else form_id


def _step_label(eng, form_id: str, step: str) -> str:
    wf = eng.defs.workflow_for(form_id) if form_id in eng.defs.forms else None
    st = wf.step(step) if wf is not None and step else None
    return label(st.title, step) if st is not None and getattr(st, "title", None) else (step or "")
