"""The operator web UI: server-rendered pages (review queue, cases, cameras with the zone editor, dashboard) in
Chinese and English, mounted at ``/`` by :func:`service.app.create_app` (see :mod:`service.ui.pages`)."""
