"""Run a test walk-by: the live pipeline on one camera, searching the test list only.

The test list is its own watchlist here (never joined with the operational one), its alerts
are reduced at once to subject, score and latency (no crop or scene is kept), and the run's
faces are not added to the deployment's operational counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openlfr.governance.walkby import WalkbyHit
from openlfr.vision.engine import FaceEngine


@dataclass(slots=True)
class WalkbySink:
    camera_id: str
    hits: list[WalkbyHit] = field(default_factory=list)

    def emit(self, alert: Any) -> None:
        self.hits.append(
            WalkbyHit(
                subject_id=str(alert.subject_id),
                camera_id=self.camera_id,
                score=float(alert.score),
                latency_ms=float(alert.latency_ms) if alert.latency_ms is not None else None,
            )
        )


def run_walkby(
    service: Any,
    by: Any,
    deployment_id: str,
    source: Any,
    *,
    camera_id: str,
    engine: FaceEngine,
    walked: list[str] | None = None,
    pipeline_config: Any = None,
    max_frames: int | None = None,
) -> dict[str, Any]:
    """Walk the test subjects (`walked`, default all of them) past `camera_id`; the recorded
    result (TPIR on the day with its interval, scores, latency, flag)."""
    from openlfr.matching.watchlist import Watchlist
    from openlfr.pipeline.runner import Pipeline, PipelineConfig

    service.deployments.check_frame(deployment_id, camera_id)  # live, camera whitelisted
    tl = service.assurance.walkbys.load_test_list(deployment_id)
    watchlist = Watchlist(tl.subject_ids, tl.vectors, engine.contract)
    sink = WalkbySink(camera_id)
    base = pipeline_config or PipelineConfig()
    cfg = PipelineConfig(
        **{
            **{f: getattr(base, f) for f in base.__dataclass_fields__},
            "camera_id": camera_id,
            "threshold": tl.threshold,
        }
    )
    pipe = Pipeline(engine, watchlist, sink, cfg, camera_allowed=lambda c: c == camera_id)
    pipe.run(source, max_frames=max_frames)
    result: dict[str, Any] = service.assurance.walkbys.record_walkby(
        by, deployment_id, camera_id, walked or list(tl.subject_ids), sink.hits
    )
    return result
