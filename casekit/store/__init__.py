"""Persistence: tables, the imperative mapping, the unit of work, migrations."""
