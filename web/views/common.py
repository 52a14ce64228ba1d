"""What every page needs: the user's language, labels, nav counts, permissions helpers."""
from __future__ import annotations


from flask import current_app, g
from flask_login import current_user, login_required

from .. import formatting, i18n
from ..workflow_view import unread_count


def engine():
    return current_app.extensions["loom.engine"]


def lang() -> str:
    if current_user.is_authenticated:
        return current_user.language
    return "en"


def t(key: str) -> str:
    return i18n.text(key, lang())


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
               "fmt_size": formatting.fmt_size,
               "fmt_number": lambda v, places=None: formatting.fmt_number(v, language, places),
               "act_label": lambda name, wf=None: i18n.action_label(name, lang(), workflow=wf)}
        if current_user.is_authenticated:
            eng = engine()
            if "unread" not in g:
                try:
                    g.unread = unread_count(eng, current_user.user)
                except Exception:  # a notifications bug must not take every page down
                    current_app.logger.exception("unread count failed")
                    g.unread = 0
            ctx.update(form_label=lambda fid: _form_label(eng, fid), step_label=lambda fid, st: _step_label(eng, fid, st))
            ctx.update(me=current_user.user, unread=g.unread, app_title=label(eng.defs.app.title) or "Loom")
        else:
            ctx.update(me=None, unread=0, app_title="Loom")
        return ctx


def _form_label(eng, form_id: str) -> str:
    spec = eng.defs.forms.get(form_id)
    return label(spec.title, form_id) if spec is not None else form_id


def _step_label(eng, form_id: str, step: str) -> str:
    wf = eng.defs.workflow_for(form_id) if form_id in eng.defs.forms else None
    st = wf.step(step) if wf is not None and step else None
    return label(st.title, step) if st is not None and getattr(st, "title", None) else (step or "")
