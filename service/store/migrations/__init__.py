"""Alembic migrations of the case store (a package so that installs ship them)."""
