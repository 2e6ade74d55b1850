"""The HTTP API: ``create_app`` builds the FastAPI application; routers live in ``service.api.routes``."""
