"""Loom: forms, approval workflows, alerts and reports defined in YAML."""
