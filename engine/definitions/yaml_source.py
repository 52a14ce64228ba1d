"""Safe YAML loading that keeps a line/column mark for every node.

PyYAML's composer gives us nodes with marks; we build plain Python values from
them ourselves so that scalars follow YAML 1.2's core schema (only true/false
are booleans: `on:` and a country code `NO` stay text), duplicate keys are
refused, alias expansion is bounded and no tag can construct Python objects.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import Problem

MAX_FILE_BYTES = 1024 * 1024
MAX_ALIAS_EXPANSION = 10_000  # nodes re-used through aliases, in total per file
MAX_NUMBER_DIGITS = 4300  # Python's own limit on reading a whole number from text
_MAX_NUMBER_BITS = int(MAX_NUMBER_DIGITS * 3.32)  # log2(10) bits per digit, rounded down
E_NOT_A_FILE = "LOOM-E016"
E_NUMBER_TOO_LONG = "LOOM-E017"

Path = tuple  # of str keys and int indices


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    col: int  # 1-based
    style: str | None = None  # None (plain), "'", '"', "|", ">"
    end_line: int = 0
    end_col: int = 0
    # block scalars (| and >): where the text itself starts, below the indicator
    content_line: int = 0
    content_col: int = 0


@dataclass
class SourceDoc:
    """A loaded YAML file: its data and where every piece of it came from."""

    file: str
    data: Any
    marks: dict = field(default_factory=dict)  # path -> Mark of the value
    key_marks: dict = field(default_factory=dict)  # path -> Mark of the mapping key

    def mark(self, path: Path) -> Mark:
        """The mark of the value at `path`, or of its nearest ancestor."""
        path = tuple(path)
        while path:
            if path in self.marks:
                return self.marks[path]
            path = path[:-1]
        return self.marks.get((), Mark(1, 1))

    def key_mark(self, path: Path) -> Mark:
        path = tuple(path)
        return self.key_marks.get(path) or self.mark(path)

    def problem(self, path: Path, message: str, code: str, *, key: bool = False,
                offset: int | None = None, severity: str = "error") -> Problem:
        """A problem located at `path`; `offset` points inside an expression string."""
        m = self.key_mark(path) if key else self.mark(path)
        line, col = m.line, m.col
        if offset is not None and tuple(path) in self.marks:
            line, col = self.inside_scalar(m, offset, self._value(path))
        return Problem(self.file, line, col, message, code, severity)

    def _value(self, path: Path):
        value = self.data
        try:
            for part in path:
                value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
        return value if isinstance(value, str) else None

    @staticmethod
    def inside_scalar(m: Mark, offset: int, text: str | None = None) -> tuple[int, int]:
        """Line and column of character `offset` of a scalar's text."""
        if m.style in ("'", '"'):
            return m.line, m.col + 1 + offset
        if m.style in ("|", ">") and m.content_line:
            text = text or ""
            before = text[:offset]
            line_start = before.rfind("\n") + 1
            return m.content_line + before.count("\n"), m.content_col + offset - line_start
        return m.line, m.col + offset


class YamlProblem(Exception):
    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")
_STANDARD_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


def resolve_plain(text: str) -> Any:
    """YAML 1.2 core schema resolution of a plain scalar."""
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT10.match(text):
        return int(text)
    if _INT8.match(text):
        return int(text[2:], 8)
    if _INT16.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~15x faster to parse


class _Loader(_Base):
    """Composer only: tags are resolved by us, not by PyYAML's 1.1 resolver."""


# Drop YAML 1.1 implicit resolvers so the composer tags every plain scalar as str
# and keeps its text; we apply the 1.2 rules in `resolve_plain`.
_Loader.yaml_implicit_resolvers = {}


def _mark(node: yaml.Node, lines: list[str] | None = None) -> Mark:
    style = getattr(node, "style", None) or None
    content_line = content_col = 0
    if style in ("|", ">") and lines is not None:
        # the text starts on the first non-blank line after the indicator, at its indent
        for i in range(node.start_mark.line + 1, min(len(lines), node.end_mark.line + 1)):
            stripped = lines[i].lstrip(" ")
            if stripped:
                content_line, content_col = i + 1, len(lines[i]) - len(stripped) + 1
                break
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1, style,
                node.end_mark.line + 1, node.end_mark.column + 1, content_line, content_col)


class _Builder:
    def __init__(self, file: str, lines: list[str] | None = None):
        self.file = file
        self.lines = lines
        self.marks: dict = {}
        self.key_marks: dict = {}
        self.seen: set[int] = set()
        self.expanded = 0

    def fail(self, node: yaml.Node, message: str, code: str) -> None:
        m = _mark(node)
        raise YamlProblem(Problem(self.file, m.line, m.col, message, code))

    def build(self, node: yaml.Node, path: Path) -> Any:
        if id(node) in self.seen and not isinstance(node, yaml.ScalarNode):
            self.expanded += 1
        self.seen.add(id(node))
        self.marks[path] = _mark(node, self.lines)
        if node.tag not in _STANDARD_TAGS and node.tag.startswith("tag:yaml.org") or node.tag.startswith("!"):
            self.fail(node, f"the YAML tag {node.tag!r} is not allowed in definitions; remove it",
                      "LOOM-E004")
        if isinstance(node, yaml.ScalarNode):
            if not node.style and node.tag == "tag:yaml.org,2002:str":
                text = node.value
                if len(text) > MAX_NUMBER_DIGITS and _INT10.match(text):
                    self.fail(node, f"a number of {len(text.lstrip('+-'))} digits; numbers in "
                              f"definitions have at most {MAX_NUMBER_DIGITS}", E_NUMBER_TOO_LONG)
                value = resolve_plain(text)
                # 0x/0o numbers convert at any length, but could not be shown as decimal text
                if isinstance(value, int) and not isinstance(value, bool) \
                        and value.bit_length() > _MAX_NUMBER_BITS and not _INT10.match(text):
                    self.fail(node, f"a number of more than {MAX_NUMBER_DIGITS} digits; numbers "
                              f"in definitions have at most {MAX_NUMBER_DIGITS}", E_NUMBER_TOO_LONG)
                return value
            return node.value
        if isinstance(node, yaml.SequenceNode):
            out = []
            for i, child in enumerate(node.value):
                self._count(child)
                out.append(self.build(child, path + (i,)))
            return out
        if isinstance(node, yaml.MappingNode):
            out: dict = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.fail(key_node, "merge keys (<<) are not supported in definitions; "
                              "write the keys out", "LOOM-E004")
                if not isinstance(key_node, yaml.ScalarNode):
                    self.fail(key_node, "a mapping key must be plain text", "LOOM-E005")
                key = str(key_node.value)
                if key in out:
                    first = self.key_marks[path + (key,)]
                    self.fail(key_node, f"duplicate key {key!r} (first defined at line "
                              f"{first.line}); remove one of them", "LOOM-E003")
                self.key_marks[path + (key,)] = _mark(key_node)
                self._count(value_node)
                out[key] = self.build(value_node, path + (key,))
            return out
        self.fail(node, "unsupported YAML node", "LOOM-E005")  # pragma: no cover

    def _count(self, node: yaml.Node) -> None:
        if id(node) in self.seen:
            self.expanded += _size(node)
            if self.expanded > MAX_ALIAS_EXPANSION:
                self.fail(node, "aliases expand to too many nodes (more than "
                          f"{MAX_ALIAS_EXPANSION}); write the values out instead", "LOOM-E006")


def _size(node: yaml.Node, budget: int = MAX_ALIAS_EXPANSION + 1) -> int:
    """Nodes under `node`, counting re-used nodes each time; stops at `budget`."""
    total, stack = 0, [node]
    while stack and total < budget:
        n = stack.pop()
        total += 1
        if isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.append(v)
    return total


def _decode(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise YamlProblem(Problem(file, line, col, "the file is not UTF-8 text (byte "
                                  f"0x{raw[exc.start]:02x}); save it as UTF-8", "LOOM-E002"))


def load_text(text: str | bytes, file: str = "<string>") -> SourceDoc:
    """Parse one YAML document; raises YamlProblem with a located, readable message."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise YamlProblem(Problem(file, 1, 1, f"the file is {len(text)} bytes; definition "
                                      f"files are limited to {MAX_FILE_BYTES} bytes, split it",
                                      "LOOM-E001"))
        text = _decode(text, file)
    elif len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise YamlProblem(Problem(file, 1, 1, f"the file is larger than {MAX_FILE_BYTES} bytes;"
                                  " split it", "LOOM-E001"))
    if "\x00" in text:
        i = text.index("\x00")
        line = text.count("\n", 0, i) + 1
        raise YamlProblem(Problem(file, line, i - text.rfind("\n", 0, i), "the file contains a "
                                  "NUL character; is it a binary file?", "LOOM-E002"))
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise YamlProblem(_syntax_problem(exc, text, file)) from None
    except yaml.reader.ReaderError as exc:
        raise YamlProblem(_reader_problem(exc, text, file)) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Problem(file, 1, 1, f"YAML error: {exc}", "LOOM-E007")) from None
    if root is None:
        return SourceDoc(file, None, {(): Mark(1, 1)}, {})
    builder = _Builder(file, text.splitlines())
    try:
        data = builder.build(root, ())
    except RecursionError:
        raise YamlProblem(Problem(file, 1, 1, "the document is nested too deeply", "LOOM-E006"))
    return SourceDoc(file, data, builder.marks, builder.key_marks)


def _reader_problem(exc: yaml.reader.ReaderError, text: str, file: str) -> Problem:
    """A character YAML does not accept, located at its own line and column."""
    char = exc.character if isinstance(exc.character, int) else None
    # the reader stops at the first such character, so its first occurrence is the one
    i = text.find(chr(char)) if char is not None else -1
    if i < 0:
        i = min(max(exc.position, 0), len(text))
    line = text.count("\n", 0, i) + 1
    col = i - text.rfind("\n", 0, i)
    what = f"the control character U+{char:04X}" if char is not None else "a character"
    return Problem(file, line, col, f"the file contains {what}, which YAML does not allow; "
                   "remove it", "LOOM-E002")


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "syntax error"
    if "\t" in problem or "'\\t'" in problem or "tab" in problem.lower():
        return Problem(file, line, col, "a tab character is used for indentation; YAML "
                       "indents with spaces only", "LOOM-E008")
    lines = text.splitlines()
    if 0 < line <= len(lines) and "\t" in lines[line - 1][: max(col, 1)]:
        return Problem(file, line, col, "a tab character is used for indentation; YAML "
                       "indents with spaces only", "LOOM-E008")
    hint = ""
    if "mapping values are not allowed" in problem:
        hint = "; a value containing ': ' must be quoted"
    elif "could not find expected ':'" in problem:
        hint = "; is a ':' missing after a key?"
    context = f" {exc.context}" if exc.context else ""
    return Problem(file, line, col, f"YAML syntax error: {problem}{context}{hint}", "LOOM-E007")


def load_file(path: str, display: str | None = None) -> SourceDoc:
    """Load a regular file from disk, never reading more than MAX_FILE_BYTES + 1 bytes.

    A FIFO, a device or a symlink to one is refused before it is opened (opening a FIFO
    blocks, reading /dev/zero never ends); the file is opened non-blocking and checked
    again, so one swapped in between cannot hang us either.
    """
    display = display or path
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise YamlProblem(_not_a_file(display))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise YamlProblem(_not_a_file(display))
        raw = fh.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise YamlProblem(Problem(display, 1, 1, f"the file is larger than {MAX_FILE_BYTES} "
                                  "bytes; definition files are limited to that, split it",
                                  "LOOM-E001"))
    return load_text(raw, display)


def _not_a_file(display: str) -> Problem:
    return Problem(display, 1, 1, "not a regular file (a pipe, a device, or a link to one); "
                   "definitions are read from plain files only", E_NOT_A_FILE)
