"""OpenAPI 3.1 for the JSON API, generated from the loaded definitions.

Each form gets concrete paths (`/api/forms/expense_claim/records`, ...) and its
own data schema built from its fields, so clients and fuzzers see the real
field names and types; each report gets its parameters.
"""
from __future__ import annotations

from typing import Any

ERROR_CODES = {"400": "Bad request or parameter", "401": "Not authenticated",
               "403": "Not permitted; `reason` says which rule (not_permitted, step_locked, "
                      "field_not_editable, field_not_readable, or an action's refusal)",
               "404": "Not found (or not readable by you)",
               "409": "Stale version or a state that changed under you; `reason` is stale_version "
                      "or state_changed",
               "413": "Request body too large", "422": "Validation failed; `fields` says which",
               "429": "Too many failed logins (locked)"}
# every operation that reads a body can answer these: not a JSON object / no CSRF header (400),
# too large (413), values no database can hold (422, web/api `body()`)
BODY_ERRORS = ("400", "413", "422")


def field_schema(f, registries) -> dict:
    """The API schema of one field: the type's own, with the field's title and read-only flag."""
    ftype = registries.field_types.get(f.type)
    # a type no registry knows (the definition check reports it): any JSON value
    s = ftype.json_schema(f, lambda c: field_schema(c, registries)) if ftype is not None else {}
    label = f.label.get("en") if f.label else ""
    if label:
        s["title"] = label
    if f.compute is not None or f.readonly:
        s["readOnly"] = True
    if f.read:
        s["x-loom-read"] = list(f.read)  # who may see it (roles, or owner)
    if f.edit:
        s["x-loom-edit"] = list(f.edit)  # who may change it
    return s


TOTAL_CAPPED = {"type": "boolean", "description": "true: counting stopped at `total`, there are more "
                                                  "(ask `total=exact` for the exact count)"}


def data_schema(form, registries, hidden=frozenset()) -> dict:
    """The schema of a form's `data` object (properties per field; `hidden`: left out)."""
    return {"type": "object", "properties": {f.name: field_schema(f, registries) for f in form.fields
                                             if f.name not in hidden}}


def _form_schemas(form, registries, hidden=frozenset()) -> dict:
    props = data_schema(form, registries, hidden)["properties"]
    required = [f.name for f in form.fields if f.required and f.compute is None and not f.readonly
                and f.name not in hidden]
    data = {"type": "object", "properties": props, "additionalProperties": False,
            "title": form.title.get("en")}
    create_data = dict(data, required=required) if required else data
    record = {"allOf": [{"$ref": "#/components/schemas/Record"},
                        {"type": "object", "properties": {"data": {"$ref": f"#/components/schemas/{form.id}.data"}}}]}
    page = {"type": "object", "required": ["items", "total"],
            "properties": {"items": {"type": "array", "items": _ref(f"{form.id}.record")},
                           "total": {"type": "integer"}, "total_capped": TOTAL_CAPPED}}
    return {f"{form.id}.data": data, f"{form.id}.create": create_data, f"{form.id}.record": record,
            f"{form.id}.page": page}


def file_fields(form) -> list[str]:
    """The paths of a form's file fields as the upload endpoint names them (`photo`,
    `lines.scan`)."""
    out = [f.name for f in form.fields if f.type == "file"]
    for table in form.tables:
        out += [f"{table.name}.{c.name}" for c in table.fields if c.type == "file"]
    return out


FILE_REF = {"type": "object", "required": ["name", "size", "sha256", "type"],
            "properties": {"name": {"type": "string"}, "size": {"type": "integer"},
                           "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                           "type": {"type": "string", "description": "judged from the bytes"}}}


def _file_paths(form, base: str, record_id: dict) -> dict:
    """Upload per file field, and the download of a file a record holds (only for forms with
    file fields)."""
    fields = file_fields(form)
    if not fields:
        return {}
    paths = {}
    for name in fields:
        paths[f"{base}/files/{name}"] = {"post": {
            "operationId": f"{form.id}_upload_{name.replace('.', '_')}",
            "summary": f"Store file(s) for {name}: the references to put in a record's data",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "properties": {"file": {
                    "type": "string", "contentMediaType": "application/octet-stream"}}}}}},
            "responses": {"201": {"description": "Stored", **_json({
                "type": "object", "required": ["files"],
                "properties": {"files": {"type": "array", "items": FILE_REF}}})},
                **_errors("400", "401", "403", "404", "422")}}}
    paths[f"{base}/records/{{id}}/files/{{sha256}}"] = {
        "parameters": [record_id, {"name": "sha256", "in": "path", "required": True,
                                   "schema": {"type": "string"}}],
        "get": {"operationId": f"{form.id}_file", "summary": "A file the record holds (images "
                "inline, the rest as attachments)",
                "parameters": [{"name": "download", "in": "query", "schema": {"enum": ["1"]}}],
                "responses": {"200": {"description": "The bytes", "content": {
                    "application/octet-stream": {"schema": {"type": "string"}}}},
                    **_errors("401", "404")}}}
    return paths


def _errors(*codes: str) -> dict:
    return {c: {"$ref": f"#/components/responses/E{c}"} for c in codes}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def build_openapi(engine, user=None) -> dict:
    """The document; for a logged-in `user`, fields they may not see are left out."""
    defs, regs = engine.defs, engine.registries
    schemas: dict[str, Any] = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message", "fields"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                           "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                           "reason": {"type": "string", "description": "why, for a program (403, "
                                      "409, some 422; linked, not_allowed, final_step, ...): "
                                      "README \"Reasons\""}}}}},
        "Record": {"type": "object",
                   "required": ["id", "form", "number", "state", "version", "owner", "data",
                                "created_at", "updated_at"],
                   "properties": {"id": {"type": "integer"}, "form": {"type": "string"},
                                  "number": {"type": ["string", "null"]}, "state": {"type": ["string", "null"]},
                                  "version": {"type": "integer"}, "owner": {"type": "string"},
                                  "data": {"type": "object"},
                                  "created_at": {"type": "string", "format": "date-time"},
                                  "updated_at": {"type": "string", "format": "date-time"},
                                  "actions": {"type": "array"},
                                  "make": {"type": "array", "items": {"type": "string"},
                                           "description": "forms you may make from this record now "
                                                          "(make_from): POST .../records?from=FORM:ID"},
                                  "deletable": {"type": "boolean", "description": "you may delete it now"}}},
        "Page": {"type": "object", "required": ["items", "total"],
                 "properties": {"items": {"type": "array", "items": _ref("Record")}, "total": {"type": "integer"}}},
        "ActionBody": {"type": "object", "properties": {
            "comment": {"type": ["string", "null"]}, "version": {"type": ["integer", "null"]},
            "to": {"type": ["string", "null"], "description": "user (transfer, cc, add_signer, reassign) or step (return)"},
            "data": {"type": ["object", "null"], "description": "fields the step lets you fill "
                     "while acting (approve with data); checked like any write"}}},
        "Login": {"type": "object", "required": ["username", "password"],
                  "properties": {"username": {"type": "string"}, "password": {"type": "string", "maxLength": 1024},
                                 "otp": {"type": "string", "description": "two-factor code (TOTP or a recovery "
                                         "code), for accounts with two-factor login"}}},
        "Account": {"type": "object", "properties": {
            "name": {"type": "string"}, "locked": {"type": "boolean"},
            "locked_until": {"type": ["string", "null"]}, "two_factor": {"type": "boolean"},
            "sessions": {"type": "integer"}, "roles": {"type": "array", "items": {"type": "string"}},
            "effective_roles": {"type": "array", "items": {"type": "string"},
                                "description": "roles plus every role they include (app.yaml role groups)"},
            "is_admin": {"type": "boolean"}}},
        "Items": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array"}}},
        "TaskPage": {"type": "object", "required": ["items", "total", "total_capped"],
                     "properties": {"items": {"type": "array", "items": {"type": "object"}},
                                    "total": {"type": "integer"},
                                    "total_capped": {"type": "boolean", "description": "counting stopped at total: there are more"}}},
        "ReportResult": {"type": "object", "required": ["columns", "rows"],
                         "properties": {"columns": {"type": "array"}, "rows": {"type": "array"}}},
    }
    responses = {f"E{c}": {"description": d, **_json(_ref("Error"))} for c, d in ERROR_CODES.items()}
    record_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}
    paths: dict[str, Any] = {
        "/api/session": {
            "post": {"operationId": "login", "security": [], "summary": "Log in (session cookie)",
                     "requestBody": {"required": True, **_json(_ref("Login"))},
                     "responses": {"201": {"description": "Logged in; returns the CSRF token for cookie requests",
                                           **_json({"type": "object"})}, **_errors("400", "401", "429")}},
            "get": {"operationId": "whoami", "summary": "The current user and CSRF token",
                    "responses": {"200": {"description": "Who you are", **_json({"type": "object"})},
                                  **_errors("401")}},
            "delete": {"operationId": "logout", "summary": "Log out: the session is dead server-side",
                       "responses": {"204": {"description": "Logged out"}, **_errors("400", "401")}},
        },
        "/api/sessions": {
            "get": {"operationId": "sessions", "summary": "My live sessions (browsers logged in)",
                    "responses": {"200": {"description": "Sessions", **_json(_ref("Items"))}, **_errors("401")}},
            "delete": {"operationId": "sessions_end", "summary": "Log out everywhere (but this session)",
                       "responses": {"200": {"description": "How many sessions ended", **_json({
                           "type": "object", "properties": {"ended": {"type": "integer"}}})}, **_errors("401")}}},
        "/api/password-reset": {"post": {
            "operationId": "password_reset", "security": [],
            "summary": "Email a single-use link to choose a new password (same answer for unknown users)",
            "requestBody": {"required": True, **_json({"type": "object", "required": ["username"], "properties": {
                "username": {"type": "string", "description": "user name or email address"}}})},
            "responses": {"202": {"description": "Sent if the account exists", **_json({"type": "object"})},
                          **_errors("400", "429")}}},
        "/api/password-reset/confirm": {"post": {
            "operationId": "password_reset_confirm", "security": [], "summary": "Set a new password with the emailed token",
            "requestBody": {"required": True, **_json({"type": "object", "required": ["token", "password"], "properties": {
                "token": {"type": "string"}, "password": {"type": "string", "maxLength": 1024}}})},
            "responses": {"204": {"description": "Password set; the account is unlocked, sessions ended"},
                          **_errors("400", "401", "422")}}},
        "/api/users": {"get": {
            "operationId": "users", "summary": "Users with lock and two-factor status (administrators)",
            "responses": {"200": {"description": "Users", **_json(_ref("Items"))}, **_errors("401", "403")}}},
        "/api/users/{name}": {"get": {
            "operationId": "user", "summary": "One user's lock and two-factor status (administrators)",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The account", **_json(_ref("Account"))},
                          **_errors("401", "403", "404")}}},
        "/api/users/{name}/unlock": {"post": {
            "operationId": "user_unlock", "summary": "Unlock an account locked by failed logins (administrators)",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The account, unlocked", **_json(_ref("Account"))},
                          **_errors("401", "403", "404")}}},
        "/api/definitions": {"get": {"operationId": "definitions", "summary": "Forms and reports you can see",
                                     "responses": {"200": {"description": "Definitions", **_json({"type": "object"})},
                                                   **_errors("401")}}},
        "/api/tasks": {"get": {
            "operationId": "tasks", "summary": "My approval tasks",
            "parameters": [{"name": "status", "in": "query", "schema": {"enum": ["open", "waiting", "done", "cancelled", "transferred"]}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 500, "default": 50}},
                           {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                           {"name": "total", "in": "query", "description": "capped (default): counted up to 1,000 past the page; exact: every task",
                            "schema": {"enum": ["capped", "exact"]}}],
            "responses": {"200": {"description": "A page of tasks, newest first, and how many there are", **_json(_ref("TaskPage"))},
                          **_errors("400", "401")}}},
        "/api/archive": {"get": {
            "operationId": "archive_search", "summary": "Archived records (administrators only), newest first",
            "parameters": [{"name": "form", "in": "query", "schema": {"type": "string"}},
                           {"name": "q", "in": "query", "description": "text in the number, owner or any value",
                            "schema": {"type": "string"}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 500}},
                           {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"200": {"description": "Archived records", **_json(_ref("Page"))},
                          **_errors("400", "401", "403", "404")}}},
        "/api/trash": {"get": {
            "operationId": "trash", "summary": "Deleted records (administrators only), most recently deleted first",
            "parameters": [{"name": "form", "in": "query", "schema": {"type": "string"}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 500}},
                           {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"200": {"description": "Deleted records with deleted_at and deleted_by", **_json(_ref("Page"))},
                          **_errors("400", "401", "403", "404")}}},
        "/api/trash/{form}/{id}/restore": {"post": {
            "operationId": "trash_restore", "summary": "Take a record out of the trash (administrators)",
            "parameters": [{"name": "form", "in": "path", "required": True, "schema": {"type": "string"}}, record_id],
            "responses": {"200": {"description": "The record, restored", **_json(_ref("Record"))},
                          **_errors("400", "401", "403", "404", "409", "422")}}},
        "/api/trash/{form}/{id}": {"delete": {
            "operationId": "trash_purge", "summary": "Remove a record in the trash for good (administrators)",
            "parameters": [{"name": "form", "in": "path", "required": True, "schema": {"type": "string"}}, record_id],
            "responses": {"204": {"description": "Purged"}, **_errors("400", "401", "403", "404", "409")}}},
        "/api/admin/audit": {"get": {
            "operationId": "audit", "summary": "The audit log (administrators): logins, account and role "
                                               "changes, deletes, restores, purges, hand-overs; newest first",
            "parameters": [{"name": "user", "in": "query", "description": "who acted, or was acted on",
                            "schema": {"type": "string"}},
                           {"name": "action", "in": "query", "schema": {"type": "string"}},
                           {"name": "since", "in": "query", "description": "ISO date or date-time (inclusive)",
                            "schema": {"type": "string"}},
                           {"name": "until", "in": "query", "description": "ISO date or date-time (exclusive)",
                            "schema": {"type": "string"}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 500}},
                           {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"200": {"description": "Audit rows", **_json(_ref("Items"))},
                          **_errors("400", "401", "403")}}},
        "/api/notifications": {"get": {
            "operationId": "notifications", "summary": "My notifications",
            "parameters": [{"name": "unread", "in": "query", "schema": {"type": "boolean"}}],
            "responses": {"200": {"description": "Notifications", **_json(_ref("Items"))}, **_errors("401")}}},
        "/api/notifications/read": {"post": {
            "operationId": "notifications_read", "summary": "Mark my notifications read (all, or the given ids)",
            "requestBody": {"required": False, **_json({
                "type": "object", "additionalProperties": False,
                "properties": {"ids": {"type": "array", "items": {"type": "integer"}}}})},
            "responses": {"200": {"description": "Unread count afterwards", **_json({
                "type": "object", "properties": {"unread": {"type": "integer"}}})},
                **_errors("401", "422")}}},
    }
    for form in defs.forms.values():
        hidden = frozenset() if user is None else \
            frozenset(form.field_names) - frozenset(engine.readable_fields(user, form.id))
        schemas.update(_form_schemas(form, regs, hidden))
        base = f"/api/forms/{form.id}"
        title = form.title.get("en")
        rec = {"description": "The record", **_json(_ref(f"{form.id}.record"))}
        made_from = {"name": "from", "in": "query", "required": False,
                     "schema": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*:[0-9]+(,[0-9]+)*$"},
                     "description": "FORM:ID[,ID...]: make the record from those records, as the "
                                    "form's make_from says (values the body sends win)"}
        flags = {"type": "object", "additionalProperties": {"type": "boolean"},
                 "description": "per field, and per cell of every line (`lines[2].qty`)"}
        paths[f"{base}/records"] = {
            "post": {"operationId": f"{form.id}_create", "summary": f"Create a {title}",
                     "parameters": [made_from],
                     "requestBody": {"required": True, **_json({
                         "type": "object", "required": [] if form.make_from else ["data"],
                         "properties": {"data": _ref(f"{form.id}.create"),
                                        "from": made_from["schema"]}})},
                     "responses": {"201": {"description": "Created", **_json(_ref(f"{form.id}.record"))},
                                   **_errors("400", "401", "403", "404", "409", "422")}},
            "get": {"operationId": f"{form.id}_list", "summary": f"List {title} records",
                    "parameters": [
                        {"name": "filter", "in": "query", "schema": {"type": "string"},
                         "description": "an expression over the form's fields, e.g. `total > 100`; "
                                        "`link.field` follows a link under your read rules: 403 for a "
                                        "form you may not read, and records hidden from you are no record"},
                        {"name": "order", "in": "query", "schema": {"type": "string"},
                         "description": "comma-separated fields (`link.field` as in filter); a leading - "
                                        "sorts descending"},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 500}},
                        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                        {"name": "total", "in": "query", "schema": {"enum": ["capped", "exact"]},
                         "description": "capped (default): count the matching records up to 1,000 past "
                                        "this page (`total_capped` when there are more); exact: count "
                                        "them all (slower as the form grows)"}],
                    "responses": {"200": {"description": "One page", **_json(_ref(f"{form.id}.page"))},
                                  **_errors("400", "401", "403", "404", "422")}},
        }
        paths[f"{base}/preview"] = {
            "post": {"operationId": f"{form.id}_preview",
                     "summary": f"Preview saving a {title}: computed values, visibility, required, errors; "
                                "writes nothing",
                     "requestBody": {"required": True, **_json({
                         "type": "object", "required": ["data"],
                         "properties": {"data": _ref(f"{form.id}.data"),
                                        "id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1,
                                               "description": "the record being edited (omit for a new one)"}}})},
                     "responses": {"200": {"description": "What a save would store and answer", **_json({
                         "type": "object", "required": ["values", "visible", "required", "errors"],
                         "properties": {"values": {"type": "object", "description": "the draft's field values as a "
                                                   "save would store them (maybe invalid: see errors)"},
                                        "visible": flags, "required": flags,
                                        "errors": {"type": "object", "additionalProperties": {"type": "string"}}}})},
                                   **_errors("400", "401", "403", "404", "422")}}}
        paths[f"{base}/new"] = {
            "get": {"operationId": f"{form.id}_new",
                    "summary": f"The draft of a new {title}: prefilled from the records `from` names "
                               "(make_from), else the defaults; writes nothing",
                    "parameters": [made_from],
                    "responses": {"200": {"description": "The draft, as a preview answers it", **_json({
                        "type": "object", "required": ["values", "visible", "required", "errors"],
                        "properties": {"values": {"type": "object"}, "visible": flags,
                                       "required": flags, "from": {"type": "string"},
                                       "errors": {"type": "object",
                                                  "additionalProperties": {"type": "string"}}}})},
                                  **_errors("400", "401", "403", "404", "409", "422")}}}
        for table in form.tables:
            paths[f"{base}/tables/{table.name}/lines"] = {
                "get": {"operationId": f"{form.id}_{table.name}_lines",
                        "summary": f"Lines of {title} {table.name} for a line picker (records you may read)",
                        "parameters": [
                            {"name": "within", "in": "query", "description": "only this record's lines",
                             "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}},
                            {"name": "q", "in": "query", "schema": {"type": "string"},
                             "description": "part of the record's number"},
                            {"name": "limit", "in": "query",
                             "schema": {"type": "integer", "minimum": 0, "maximum": 100}}],
                        "responses": {"200": {"description": "Lines", **_json({
                            "type": "object", "required": ["items"], "properties": {"items": {
                                "type": "array", "items": {
                                    "type": "object", "required": ["id", "title"],
                                    "properties": {"id": {"type": "string"},
                                                   "title": {"type": "string"}}}}}})},
                                      **_errors("400", "401", "404")}}}
        paths[f"{base}/records/{{id}}"] = {
            "parameters": [record_id],
            "get": {"operationId": f"{form.id}_get", "summary": f"A {title} with its available actions",
                    "responses": {"200": rec, **_errors("401", "404")}},
            "patch": {"operationId": f"{form.id}_update", "summary": f"Change a {title}",
                      "requestBody": {"required": True, **_json({
                          "type": "object", "required": ["data", "version"],
                          "properties": {"data": _ref(f"{form.id}.data"), "version": {"type": "integer"}}})},
                      "responses": {"200": rec, **_errors("400", "401", "403", "404", "409", "422")}},
            "delete": {"operationId": f"{form.id}_delete",
                       "summary": f"Delete a {title} into the trash (403: not permitted in this step; "
                                  "409: other records link to it, or a stale version)",
                       "requestBody": {"required": False, **_json({
                           "type": "object", "properties": {"version": {"type": "integer"},
                                                            "comment": {"type": "string"}}})},
                       "responses": {"204": {"description": "In the trash"},
                                     **_errors("400", "401", "403", "404", "409", "422")}},
        }
        paths[f"{base}/records/{{id}}/actions/{{name}}"] = {
            "parameters": [record_id, {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": {"operationId": f"{form.id}_act", "summary": "Take a workflow action",
                     "requestBody": {"required": False, **_json(_ref("ActionBody"))},
                     "responses": {"200": rec, **_errors("400", "401", "403", "404", "409", "422")}},
        }
        paths[f"{base}/records/{{id}}/history"] = {
            "parameters": [record_id],
            "get": {"operationId": f"{form.id}_history", "summary": "The record's event log",
                    "responses": {"200": {"description": "Events", **_json(_ref("Items"))}, **_errors("401", "404")}}}
        paths[f"{base}/records/{{id}}/explain"] = {
            "parameters": [record_id],
            "get": {"operationId": f"{form.id}_explain", "summary": "Next steps and approvers, and why",
                    "responses": {"200": {"description": "Explanation", **_json({"type": "object"})},
                                  **_errors("401", "404")}}}
        paths[f"{base}/import"] = {
            "post": {"operationId": f"{form.id}_import", "summary": "Import CSV or XLSX: all rows or none",
                     "parameters": [{"name": "dry_run", "in": "query", "schema": {"type": "integer", "enum": [0, 1]}}],
                     "requestBody": {"required": True, "content": {
                         "multipart/form-data": {"schema": {"type": "object", "properties": {
                             "file": {"type": "string", "contentMediaType": "application/octet-stream"}}}}}},
                     "responses": {"200": {"description": "Dry run result", **_json({"type": "object"})},
                                   "201": {"description": "Imported", **_json({"type": "object"})},
                                   **_errors("400", "401", "403", "404", "422")}}}
        paths.update(_file_paths(form, base, record_id))
    for rep in defs.reports.values():
        params = [{"name": p.name, "in": "query", "required": False, "schema": _param_schema(p, regs)}
                  for p in rep.params]
        params.append({"name": "format", "in": "query", "schema": {"enum": ["json", "csv", "xlsx"]}})
        paths[f"/api/reports/{rep.id}"] = {"get": {
            "operationId": f"report_{rep.id}", "summary": rep.title.get("en") or rep.id, "parameters": params,
            "responses": {"200": {"description": "Columns and rows (or a CSV/XLSX file)", "content": {
                "application/json": {"schema": _ref("ReportResult")},
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string"}}}},
                **_errors("400", "401", "403", "404")}}}
    for item in paths.values():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            if "requestBody" in op:
                op["responses"].update({c: r for c, r in _errors(*BODY_ERRORS).items()
                                        if c not in op["responses"]})
            if method != "get" and "413" not in op["responses"]:
                op["responses"].update(_errors("413"))  # the body cap holds on every route
            if op.get("security") != [] and "401" not in op["responses"]:
                op["responses"].update(_errors("401"))
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{defs.app.title.get('en') or defs.app.name} API (Loom)", "version": "1",
                 "description": "Generated from the loaded definitions. Errors are "
                                "{\"error\": {\"code\", \"message\", \"fields\"}}."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
        "components": {
            "schemas": schemas, "responses": responses,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "`loom user token NAME`"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "loom_session",
                           "description": "from POST /api/session; unsafe methods also need X-CSRFToken"}},
        },
    }


def _param_schema(p, registries) -> dict:
    ftype = registries.field_types.get(p.type)
    if ftype is None:
        return {"enum": list(p.options)} if p.options else {"type": "string"}
    return ftype.param_schema(p)
