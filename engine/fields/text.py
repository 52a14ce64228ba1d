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


class EmailType(TextType):
    name = "email"
    widget = "email"
    _re = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    def parse(self, field, raw):
        text = super().parse(field, raw)
        if text and not self._re.match(text):
            raise FieldError("is not an email address")
        return text

    def json_schema(self, field, schema_of):
        return dict(super().json_schema(field, schema_of), format="email")


class PhoneType(TextType):
    name = "phone"
    widget = "tel"
    _re = re.compile(r"^\+?[0-9 ()\-./]{3,32}$")

    def parse(self, field, raw):
        text = super().parse(field, raw)
        if text and not self._re.match(text):
            raise FieldError("is not a phone number")
        return text


class UserType(TextType):
    """A username; the engine checks the user exists."""

    name = "user"
    widget = "user"
    expr_kind = T.USER
