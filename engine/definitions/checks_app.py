"""Semantic checks of app.yaml (roles, languages) and of labels' languages everywhere."""
from __future__ import annotations

import os

from .semantics import E_LANGUAGE, E_ROLE_DUP, W_LABEL_LANGUAGE, Context, value_at
from .suggest import suggestion_suffix

E_PLUGIN = "LOOM-E080"
E_DEMO = "LOOM-E081"
E_2FA_ROLE = "LOOM-E082"
E_INCLUDE_ROLE = "LOOM-E150"
E_INCLUDE_CYCLE = "LOOM-E151"

# Keys whose value is a label: a text, or a map of language -> text.
LABEL_KEYS = frozenset({"title", "label", "message", "help", "description", "confirm"})


def check(ctx: Context) -> None:
    apps = ctx.docs.get("app", {})
    if not apps:
        return
    doc = next(iter(apps.values()))
    seen: dict[str, int] = {}
    for i, raw in enumerate(value_at(doc, ("roles",)) or []):
        name = raw.get("name") if isinstance(raw, dict) else raw
        path = ("roles", i, "name") if isinstance(raw, dict) else ("roles", i)
        if name in seen:
            first = doc.mark(("roles", seen[name]))
            ctx.add(doc, path, f"role {name!r} is listed twice (first at line {first.line}); "
                    "remove one", E_ROLE_DUP)
        else:
            seen[str(name)] = i
    _role_groups(ctx, doc)
    app = ctx.defs.app
    languages = list(app.languages)
    if value_at(doc, ("default_language",)) is not None and app.default_language not in languages:
        ctx.add(doc, ("default_language",), f"default_language {app.default_language!r} is not "
                f"in languages ({', '.join(languages)}); add it there", E_LANGUAGE)
    loaded = getattr(ctx.registries, "plugins", [])
    for i, name in enumerate(value_at(doc, ("plugins",)) or []):
        if name not in loaded:
            have = ", ".join(loaded) if loaded else "none"
            ctx.add(doc, ("plugins", i), f"plugin {name!r} is not installed (installed: {have})"
                    f"{suggestion_suffix(name, loaded)}; install the package that provides it",
                    E_PLUGIN)
    if app.demo is not None and not os.path.isfile(app.demo):
        ctx.add(doc, ("demo",), f"demo file {value_at(doc, ('demo',))!r} does not exist; write the "
                "path of the app's demo module relative to app.yaml, like demo/seed.py", E_DEMO)
    roles = sorted(app.role_names | {"admin"})
    for i, name in enumerate(value_at(doc, ("require_2fa",)) or []):
        if name not in roles:
            ctx.add(doc, ("require_2fa", i), f"require_2fa names role {name!r}, which the app does not "
                    f"define (roles: {', '.join(roles)}){suggestion_suffix(str(name), roles)}", E_2FA_ROLE)
    known = set(languages)
    for kind, by_id in ctx.docs.items():
        for d in by_id.values():
            _label_languages(ctx, d, d.data, (), known)


def _role_groups(ctx: Context, doc) -> None:
    """`include` names defined roles, and no role includes itself, directly or through others."""
    raw_roles = value_at(doc, ("roles",)) or []
    includes: dict[str, list[tuple[int, int, str]]] = {}
    for i, raw in enumerate(raw_roles):
        if isinstance(raw, dict):
            includes[str(raw.get("name"))] = [(i, j, str(n)) for j, n in enumerate(raw.get("include") or [])]
    names = sorted({str(r.get("name") if isinstance(r, dict) else r) for r in raw_roles})
    for role, edges in includes.items():
        for i, j, name in edges:
            if name not in names:
                ctx.add(doc, ("roles", i, "include", j), f"role {role!r} includes {name!r}, which the "
                        f"app does not define{suggestion_suffix(name, names)} (roles: {', '.join(names)})",
                        E_INCLUDE_ROLE)
    reported: set[frozenset] = set()
    for role, edges in includes.items():
        for i, j, name in edges:
            path = _path_back(includes, name, role)
            if path is None:
                continue
            circle = [role] + path  # path ends back at role
            key = frozenset(circle)
            if key in reported:  # one report per circle, at the first include that closes it
                continue
            reported.add(key)
            ctx.add(doc, ("roles", i, "include", j), f"role {role!r} includes itself through "
                    f"{' -> '.join(circle)}; "
                    "a role group cannot contain itself, remove one of these includes", E_INCLUDE_CYCLE)


def _path_back(includes: dict, start: str, goal: str) -> list[str] | None:
    """Role names from `start` along includes that reach `goal` (ending with `goal`), or None."""
    todo, came = [start], {start: None}
    while todo:
        role = todo.pop(0)
        if role == goal:
            path = []
            while role is not None:
                path.append(role)
                role = came[role]
            return path[::-1]
        for _, _, nxt in includes.get(role, ()):
            if nxt not in came:
                came[nxt] = role
                todo.append(nxt)
    return None


def _label_languages(ctx: Context, doc, node, path: tuple, known: set) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            p = path + (k,)
            if k in LABEL_KEYS and isinstance(v, dict):
                for lang in v:
                    if lang not in known:
                        ctx.add(doc, p + (lang,), f"label language {lang!r} is not one of the "
                                f"app's languages ({', '.join(sorted(known))}); the UI never "
                                "shows it", W_LABEL_LANGUAGE, key=True, severity="warning")
            elif isinstance(v, (dict, list)):
                _label_languages(ctx, doc, v, p, known)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)):
                _label_languages(ctx, doc, v, path + (i,), known)
