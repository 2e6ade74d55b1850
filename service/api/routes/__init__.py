"""API routers; each module exposes ``router`` and is listed in ``service.api.app.ROUTERS``."""
