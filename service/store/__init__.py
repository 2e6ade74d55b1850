"""The case store: tables, migrations, repository functions and evidence files."""
