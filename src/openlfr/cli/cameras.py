"""`--camera ID=SOURCE` options, shared by `serve` and `worker` (kept apart from `serve`, which
loads the API and the database layer a worker at the camera does not need)."""

from __future__ import annotations

import typer


def camera_sources(cameras: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in cameras:
        if "=" not in c:
            raise typer.BadParameter(f"--camera needs ID=SOURCE, got {c!r}")
        cam, spec = c.split("=", 1)
        out[cam.strip()] = spec.strip()
    return out
