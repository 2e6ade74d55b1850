"""Integrations with other systems: signed webhooks on case events, table and dataset exports."""
