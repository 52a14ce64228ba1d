"""Archiving: forms' `archive:` rules applied in SQL batches (see README.md)."""
from .runner import Archiver, ArchiveResult

__all__ = ["Archiver", "ArchiveResult"]
