"""API routers; each module exposes ``router`` and is listed in ``service.app.ROUTERS``."""
