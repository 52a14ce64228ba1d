"""Text family: plain text, long text, email, phone, and a username."""
from __future__ import annotations

import re

from ..expr import types as T
from .base import FieldError, FieldType


class TextType(FieldType):
    pass


class TextareaType(TextType):
    name = "textarea"
    widget = "textarea"


class _PatternType(TextType):
    """Text that must match `pattern`, else `FieldError(problem)`."""

    pattern: re.Pattern
    problem: str

    def parse(self, field, raw):
        text = super().parse(field, raw)
        if text and not self.pattern.match(text):
            raise FieldError(self.problem)
        return text


class EmailType(_PatternType):
    name = "email"
    widget = "email"
    pattern = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    problem = "is not an email address"

    def json_schema(self, field, schema_of):
        return dict(super().json_schema(field, schema_of), format="email")


class PhoneType(_PatternType):
    name = "phone"
    widget = "tel"
    pattern = re.compile(r"^\+?[0-9 ()\-./]{3,32}$")
    problem = "is not a phone number"


class UserType(TextType):
    """A username; the engine checks the user exists."""

    name = "user"
    widget = "user"
    expr_kind = T.USER
