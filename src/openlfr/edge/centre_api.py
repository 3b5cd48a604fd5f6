"""The worker's HTTP client for the centre's worker routes (assignments, watchlists)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import numpy as np

from openlfr.errors import WorkerAuthError


class CentreUnreachable(Exception):
    """The centre did not answer (network, 5xx): counts against the lease, not a refusal."""


@dataclass(frozen=True, slots=True)
class Assignment:
    deployment_id: str
    cameras: tuple[str, ...]
    threshold: float
    contract_id: str
    ends_at: datetime | None
    public_key: bytes
    watchlist_version: str = ""


@dataclass(frozen=True, slots=True)
class FetchedWatchlist:
    entry_ids: list[str]
    vectors: np.ndarray
    contract_id: str
    threshold: float


class CentreClient:
    def __init__(self, url: str, token: str, *, timeout_s: float = 5.0, verify: Any = True):
        self.http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            verify=verify,
        )

    def _get(self, path: str, json: Any = None) -> Any:
        try:
            r = self.http.get(path) if json is None else self.http.post(path, json=json)
        except httpx.HTTPError as e:
            # The type and the library's words (connection refused, certificate failed).
            raise CentreUnreachable(f"{type(e).__name__}: {str(e)[:160]}") from None
        if r.status_code == 401:
            raise WorkerAuthError("the centre refused this worker's token (revoked?)")
        if r.status_code == 409:
            raise WorkerAuthError(
                "the centre holds another key for this worker: use the key file it enrolled "
                "with, or have an administrator register a new worker"
            )
        if r.status_code >= 500:
            raise CentreUnreachable(f"HTTP {r.status_code}")
        if r.status_code == 404 and path.endswith("/assignments"):
            # Nothing there answers to the worker routes: the wrong address, or not a centre.
            raise CentreUnreachable(f"HTTP 404 for {path}: is --centre an OpenLFR centre?")
        r.raise_for_status()
        try:
            return r.json()
        except ValueError:
            why = f"not JSON from {path}: is --centre an OpenLFR centre?"
            raise CentreUnreachable(why) from None

    def enrol(self, public_key: bytes) -> bytes:
        """Give the centre this worker's public key (once; again with the same key is a no-op);
        returns the centre's public key, which signs the control messages."""
        d = self._get("/api/v1/worker/enrol", json={"public_key": public_key.hex()})
        return bytes.fromhex(d["centre_public_key"])

    def assignments(self) -> list[Assignment]:
        out = []
        for a in self._get("/api/v1/worker/assignments"):
            ends = a.get("ends_at")
            out.append(
                Assignment(
                    a["deployment_id"],
                    tuple(a["cameras"]),
                    float(a["threshold"]),
                    a["contract_id"],
                    datetime.fromisoformat(ends) if ends else None,
                    bytes.fromhex(a["alert_public_key"]),
                    a.get("watchlist_version", ""),
                )
            )
        return out

    def watchlist(self, deployment_id: str) -> FetchedWatchlist:
        """Held in memory by the caller only; never written anywhere."""
        d = self._get(f"/api/v1/worker/deployments/{deployment_id}/watchlist")
        raw = base64.b64decode(d["vectors_b64"])
        dim = int(d["dim"]) or 1
        vecs = np.frombuffer(raw, "<f4").reshape(-1, dim).astype(np.float32)
        return FetchedWatchlist(d["entry_ids"], vecs, d["contract_id"], float(d["threshold"]))

    def close(self) -> None:
        self.http.close()
