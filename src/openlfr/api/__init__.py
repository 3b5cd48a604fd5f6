"""REST API and operator console: a thin adapter over `services.governance`.

`create_app(service, ...)` builds the FastAPI app; `openlfr serve` runs it with uvicorn.
"""

from openlfr.api.app import create_app

__all__ = ["create_app"]
