"""Loading a directory: every file checked and built into `Definitions`.

`Definitions` itself lives in `loaded.py` (re-exported here).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from typing import Callable, Iterable

from ..errors import DefinitionError, Problem
from .build import BUILDERS, Builder
from .checks import check_semantics
from .loaded import DEFAULT_APP as DEFAULT_APP
from .loaded import Definitions as Definitions
from .schema_check import check_schema, kind_of
from .yaml_source import SourceDoc, YamlProblem, load_file

def definition_files(root: str) -> list[str]:
    """Every .yaml/.yml file under root, in a stable order."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith((".yaml", ".yml")) and not name.startswith("."):
                out.append(os.path.join(dirpath, name))
    return out


def tree_version(root: str) -> str:
    """A hash of every definition file's path and content: equal trees, equal versions.

    Cheap next to loading (no YAML is parsed), so a process can compare its files
    with the version the database asks for before it loads anything."""
    digest = hashlib.sha256()
    for path in definition_files(root):
        try:
            with open(path, "rb") as fh:
                content = fh.read()
        except OSError:
            content = b"\0unreadable"
        digest.update(os.path.relpath(path, root).replace(os.sep, "/").encode() + b"\0")
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()[:16]


def check_tree(root: str, registries=None, progress: Callable[[int, int], None] | None = None
               ) -> tuple[Definitions | None, list[Problem]]:
    """Load and check every file under `root`; return what loaded and every problem."""
    problems: list[Problem] = []
    built: dict[str, dict] = {k: {} for k in BUILDERS}
    docs: dict[str, SourceDoc] = {}
    files = definition_files(root)
    if not files:
        problems.append(Problem(root, 1, 1, "no definition files (*.yaml) found here", "LOOM-E020"))
    for i, path in enumerate(files):
        if progress:
            progress(i + 1, len(files))
        display = os.path.relpath(path)
        try:
            doc = load_file(path, display)
        except YamlProblem as exc:
            problems.append(exc.problem)
            continue
        except OSError as exc:
            problems.append(Problem(display, 1, 1, f"cannot read the file: {exc.strerror}", "LOOM-E001"))
            continue
        kind = kind_of(doc)
        schema_problems = check_schema(kind, doc) if kind else check_schema(None, doc)
        if schema_problems:
            problems.extend(schema_problems)
            continue
        b = Builder(doc)
        spec = BUILDERS[kind](b)
        problems.extend(b.problems)
        ident = doc.data[kind]
        if ident in built[kind]:
            first = built[kind][ident][1]
            problems.append(doc.problem((kind,), f"{kind} {ident!r} is already defined in "
                                        f"{first.file}; ids are unique per kind", "LOOM-E021"))
            continue
        built[kind][ident] = (spec, doc)
        docs[display] = doc
    apps = list(built["app"].values())
    for spec, doc in apps[1:]:
        problems.append(doc.problem(("app",), "only one app definition is allowed per tree",
                                    "LOOM-E021"))
    defs = Definitions(
        app=apps[0][0] if apps else DEFAULT_APP,
        forms={k: v[0] for k, v in built["form"].items()},
        workflows={k: v[0] for k, v in built["workflow"].items()},
        alerts={k: v[0] for k, v in built["alert"].items()},
        reports={k: v[0] for k, v in built["report"].items()},
        root=root, docs=docs, scenarios={k: v[0] for k, v in built["scenario"].items()},
    )
    semantic = check_semantics(defs, {kind: {k: v[1] for k, v in built[kind].items()}
                                      for kind in built}, registries)
    problems.extend(semantic)
    errors = [p for p in problems if p.severity == "error"]
    warnings = tuple(p for p in problems if p.severity != "error")
    if warnings:
        defs = replace(defs, warnings=warnings)
    return defs, _file_order(problems) if errors or warnings else []


def _file_order(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line, p.col, p.message))


def load_definitions(root: str, registries=None) -> Definitions:
    """Load a tree; raise DefinitionError listing every error if there is any."""
    defs, problems = check_tree(root, registries)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DefinitionError(errors)
    return defs
