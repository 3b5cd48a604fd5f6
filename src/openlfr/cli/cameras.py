"""Camera options shared by `serve` and `worker`: ID=SOURCE pairs and looping file cameras (kept
apart from `serve`, which loads the API and the database layer a worker at the camera does not
need)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

SourceSpec = str | Callable[[], Any]


def camera_sources(cameras: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in cameras:
        if "=" not in c:
            raise typer.BadParameter(f"--camera needs ID=SOURCE, got {c!r}")
        cam, spec = c.split("=", 1)
        out[cam.strip()] = spec.strip()
    return out


def looping(cameras: dict[str, str], *, realtime: bool) -> dict[str, SourceSpec]:
    """Each file camera as a factory of a source that starts again at its end; streams and
    camera indexes as they are (they have no end to loop at)."""
    from openlfr.pipeline.sources import open_source

    def factory(spec: str) -> SourceSpec:
        return lambda: open_source(spec, realtime=realtime, loop=True)

    return {cam: factory(spec) for cam, spec in cameras.items()}
