"""The live pipelines of running deployments, in background threads of the server process.

Each (deployment, camera) pair whose camera has a configured source runs
`services.run.run_deployment` on its own thread, so the governance checks (camera whitelist,
window, state) are the service's, not re-implemented here. Alerts reach the console through the
database (the SSE stream polls for new ones), so an alert recorded is an alert shown. All
cameras share one engine (`pipeline.threads.SharedEngine`), as on an edge worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openlfr.api.metrics import Metrics
from openlfr.errors import OpenLFRError
from openlfr.governance.deployment import Actor
from openlfr.pipeline.threads import CameraThread, SharedEngine
from openlfr.safelog import crash_summary
from openlfr.services import console
from openlfr.services.governance import GovernanceService
from openlfr.services.run import run_deployment

log = logging.getLogger(__name__)

# A camera's source: a spec for `pipeline.sources.open_source` or a factory of a FrameSource.
SourceSpec = str | Callable[[], Any]


@dataclass
class CameraRun(CameraThread):
    deployment_id: str
    camera_id: str
    error: str | None = None


class LiveManager:
    def __init__(
        self,
        service: GovernanceService,
        engine_factory: Callable[[], Any],
        sources: dict[str, SourceSpec] | None = None,
        *,
        metrics: Metrics | None = None,
        pipeline_config: Any = None,
        realtime: bool = True,
    ) -> None:
        self.service = service
        # One engine for every camera of the process, as on a worker: one detector session and
        # one embedder batching all cameras' chips, instead of a model set per camera.
        self.engine = SharedEngine(engine_factory)
        self.sources: dict[str, SourceSpec] = dict(sources or {})
        self.metrics = metrics
        self.pipeline_config = pipeline_config
        self.realtime = realtime
        self._runs: dict[tuple[str, str], CameraRun] = {}
        self._lock = threading.Lock()

    def _open(self, spec: SourceSpec) -> Any:
        if callable(spec):
            return spec()
        from openlfr.pipeline.sources import open_source

        return open_source(spec, realtime=self.realtime)

    def start(self, deployment_id: str, by: Actor) -> tuple[list[str], list[str]]:
        """Start every whitelisted camera that has a source; returns (started, without source)."""
        cams = self.service.deployments.deployment(deployment_id)["cameras"]
        started, missing = [], []
        for cam in cams:
            if cam not in self.sources:
                missing.append(cam)
                continue
            with self._lock:
                run = self._runs.get((deployment_id, cam))
                if run is not None and run.running:
                    started.append(cam)
                    continue
                run = CameraRun(deployment_id, cam)
                run.thread = threading.Thread(
                    target=self._run,
                    args=(run, by),
                    name=f"live:{deployment_id}:{cam}",
                    daemon=True,
                )
                self._runs[(deployment_id, cam)] = run
                run.thread.start()
            started.append(cam)
        self._gauge()
        return started, missing

    def resume(self) -> None:
        """At server start: pick up deployments that are live, acting as their first operator."""
        for dep_id in console.live_deployment_ids(self.service):
            ops = self.service.deployments.deployment(dep_id)["operator_ids"]
            if not ops:
                continue
            try:
                self.start(dep_id, self.service.accounts.actor_by_id(ops[0]))
            except OpenLFRError as e:
                log.warning("could not resume deployment %s: %s", dep_id, e.code)

    def _pipeline_factory(self, run: CameraRun) -> Callable[..., Any]:
        from openlfr.pipeline.runner import Pipeline

        m = self.metrics

        def make(*a: Any, **kw: Any) -> Any:
            pipe = Pipeline(*a, **kw)
            orig = pipe.run
            seen = {"frames": 0, "faces": 0, "tracks": 0, "alerts": 0, "dropped": 0, "lat": 0}

            def on_status(c: Any) -> None:
                run.frames, run.faces, run.alerts = (
                    c.frames_processed,
                    c.faces_detected,
                    c.alerts,
                )
                if m is None:
                    return
                cam = run.camera_id
                for key, counter, value in (
                    ("frames", m.frames, c.frames_processed),
                    ("faces", m.faces, c.faces_detected),
                    ("tracks", m.tracks, c.tracks),
                    ("alerts", m.alerts, c.alerts),
                    ("dropped", m.dropped, c.dropped_frames),
                ):
                    if value > seen[key]:
                        counter.labels(cam).inc(value - seen[key])
                        seen[key] = value
                lat = list(pipe.latencies_ms)
                for ms in lat[seen["lat"] :]:
                    m.alert_latency.observe(ms / 1000.0)
                seen["lat"] = len(lat)

            def run_wrapped(source: Any, **k: Any) -> Any:
                inner_stop = k.pop("should_stop", None)

                def should_stop() -> bool:
                    return run.stop.is_set() or bool(inner_stop and inner_stop())

                try:
                    return orig(source, should_stop=should_stop, on_status=on_status, **k)
                finally:
                    on_status(pipe.counters)

            pipe.run = run_wrapped  # type: ignore[method-assign]
            return pipe

        return make

    def _run(self, run: CameraRun, by: Actor) -> None:
        try:
            engine = self.engine.get()
            source = self._open(self.sources[run.camera_id])
            log.info("camera %s started deployment=%s", run.camera_id, run.deployment_id)
            res = run_deployment(
                self.service,
                by,
                run.deployment_id,
                source,
                camera_id=run.camera_id,
                engine=engine,
                pipeline_config=self.pipeline_config,
                pipeline_factory=self._pipeline_factory(run),
            )
            log.info(
                "pipeline ended deployment=%s camera=%s frames=%d alerts=%d",
                run.deployment_id,
                run.camera_id,
                res.frames_processed,
                res.alerts_recorded,
            )
        except OpenLFRError as e:
            run.error = e.code
            log.warning(
                "pipeline refused deployment=%s camera=%s: %s",
                run.deployment_id,
                run.camera_id,
                e.code,
            )
        except Exception as e:
            # Only the type: a message could carry frame data or paths the log must not hold.
            run.error = type(e).__name__
            log.error(
                "pipeline crashed deployment=%s camera=%s: %s",
                run.deployment_id,
                run.camera_id,
                crash_summary(e),
            )
        finally:
            self._gauge()

    def _gauge(self) -> None:
        if self.metrics is not None:
            with self._lock:
                n = sum(1 for r in self._runs.values() if r.running)
            self.metrics.pipelines.set(n)

    def status(self, deployment_id: str | None = None) -> list[CameraRun]:
        with self._lock:
            return [
                r
                for r in self._runs.values()
                if deployment_id is None or r.deployment_id == deployment_id
            ]

    def stop(self, deployment_id: str | None = None, timeout: float = 15.0) -> None:
        runs = self.status(deployment_id)
        for r in runs:
            r.stop.set()
        for r in runs:
            if r.thread is not None:
                r.thread.join(timeout)
        if deployment_id is None:  # the server stopping; one deployment ending keeps the models
            self.engine.close()
        self._gauge()
