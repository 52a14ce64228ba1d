"""GET /api/definitions: the forms and reports the user can see, and the app;
POST /api/admin/reload: reload the definitions without a restart."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from ..auth import acting_user, engine
from ..openapi import build_openapi
from ..shapes import form_json, label_json, report_json
from ..views.common import readable_forms, visible_reports
from . import bp


@bp.get("/definitions")
def definitions():
    eng, user = engine(), acting_user()
    app = eng.defs.app
    return jsonify({
        "app": {"name": app.name, "title": label_json(app.title), "languages": list(app.languages),
                "roles": [{"name": r.name, "label": label_json(r.label) or r.name} for r in app.roles]},
        "forms": [form_json(f, eng, user) for f in readable_forms(eng, user)],
        "reports": [report_json(r) for r in visible_reports(eng, user)],
    })


@bp.post("/admin/reload")
def reload_definitions():
    """Check the definitions folder and swap it in when clean (admins); 422 with the problems
    when not — the running definitions stay."""
    result = engine().reload_definitions(acting_user())
    return jsonify(result.as_json()), 422 if result.status == "refused" else 200


@bp.get("/openapi.json")
def openapi():
    user = current_user.user if current_user.is_authenticated else None
    return jsonify(build_openapi(engine(), user))
