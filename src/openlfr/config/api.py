"""Settings of the web server: body limits, cookies behind TLS, the metrics scrape token."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class ApiSettings(BaseModel):
    # Largest multipart upload (a watchlist or subject-access photo) and largest other body
    # (JSON: an evaluation report is the biggest). Counted as bytes arrive, before any parsing.
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_json_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # None: the cookie is Secure when the request came over HTTPS. True behind a TLS proxy
    # (the app sees plain HTTP there), which also sends HSTS.
    cookie_secure: bool | None = None
    hsts: bool = False
    # /metrics answers only to `Authorization: Bearer <token>`; unset: /metrics is closed.
    metrics_token: SecretStr | None = None
