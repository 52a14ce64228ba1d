"""The expression language: one safe subset of Python expressions everywhere."""
