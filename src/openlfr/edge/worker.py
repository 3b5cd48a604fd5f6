"""`openlfr worker`: the live pipeline next to the cameras, governed from the centre.

The worker asks the centre (worker token, HTTPS) which live deployments it runs, fetches each
one's watchlist into memory, runs every whitelisted camera it has a source for, and publishes
only sealed alerts and counter deltas (JetStream) and heartbeats (core NATS). It fails closed:
a camera stops when its deployment's end time passes, when the centre says stop (control
subject, sub-second), when the assignment disappears from a poll, when the token is refused, or
when the centre has not answered for `lease_s`.

All cameras of the process share one engine (`pipeline.threads.SharedEngine`): one detector
session, run on each camera's thread, and one embedder whose queue batches every camera's chips.
An engine (with its onnxruntime thread pools) per camera would put several pools on the same few
cores.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openlfr.broker.auth import worker_inbox
from openlfr.broker.client import BrokerClient
from openlfr.broker.messages import CountersMessage, dumps, loads
from openlfr.broker.protocol import SIG, ControlVerifier, SigningKey, new_nonce, parse_token
from openlfr.broker.subjects import control_subject, counters_subject, heartbeat_subject
from openlfr.config.broker import redact
from openlfr.edge.centre_api import Assignment, CentreClient, CentreUnreachable
from openlfr.edge.sink import BrokerAlertSink
from openlfr.errors import BrokerUnreachable, OpenLFRError, WorkerAuthError
from openlfr.pipeline.threads import CameraThread, SharedEngine

log = logging.getLogger(__name__)

SourceSpec = str | Callable[[], Any]
RETRY_AFTER_S = 10.0


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    centre: str
    broker: str
    token: str
    cameras: dict[str, SourceSpec]
    poll_s: float = 1.0
    lease_s: float = 30.0
    heartbeat_s: float = 1.0
    counters_every_s: float = 2.0
    realtime: bool = True
    pipeline_config: Any = None
    broker_options: dict[str, Any] = field(default_factory=dict)
    verify_tls: Any = True
    # This worker's Ed25519 key (made at first start, kept here); None: a key in memory only,
    # enrolled afresh (tests; a restarted worker then needs a new registration).
    key_file: Path | None = None


@dataclass
class CameraRun(CameraThread):
    assignment: Assignment
    camera_id: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: str = "starting"
    stopped_by: str | None = None
    dropped: int = 0
    fps: float = 0.0
    sent_frames: int = 0  # counters already published to the centre
    sent_faces: int = 0
    seq: int = 0
    ended: float = 0.0  # time.monotonic() when the run ended


class Worker:
    def __init__(
        self,
        config: WorkerConfig,
        *,
        engine_factory: Callable[[], Any] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.worker_id, _ = parse_token(config.token)
        self.key = (
            SigningKey.load_or_create(config.key_file) if config.key_file else SigningKey.generate()
        )
        self.control = ControlVerifier(self.worker_id)
        self.engine = SharedEngine(engine_factory or _default_engine)
        self.clock = clock
        self.centre = CentreClient(config.centre, config.token, verify=config.verify_tls)
        # Its own inbox prefix: the broker lets it hear its own replies and no one else's.
        opts = {"inbox_prefix": worker_inbox(self.worker_id), **config.broker_options}
        self.broker = BrokerClient(config.broker, name=f"worker-{self.worker_id}", **opts)
        self.runs: dict[tuple[str, str], CameraRun] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.shutdown = threading.Event()
        self.last_ok = time.monotonic()
        self.exit_reason: str | None = None
        self._centre_failures, self._centre_next_warn = 0, 0.0

    # -- control -----------------------------------------------------------------------------

    def _on_control(self, data: bytes) -> None:
        try:
            msg = loads(data)
        except OpenLFRError:
            return
        if not self.control.accept(msg):
            # Anyone on the broker can publish here: only the centre's signature counts.
            log.warning("ignored a control message not signed by the centre (or replayed)")
            return
        action, dep = msg.get("action"), msg.get("deployment_id")
        log.info("control %s deployment=%s", action, dep)
        if action == "stop":
            self._stop_where(lambda r: r.assignment.deployment_id == dep, "centre_stop")
        elif action == "revoked":
            self._stop_where(lambda r: True, "revoked")
        self._wake.set()  # re-poll now: a refresh, or to confirm what was stopped

    def _stop_where(self, pred: Callable[[CameraRun], bool], why: str) -> None:
        with self._lock:
            for r in self.runs.values():
                if r.running and pred(r) and not r.stop.is_set():
                    r.stopped_by = why
                    r.stop.set()

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> str:
        """Blocks until `shutdown` is set or the token is refused; returns why it ended."""
        # The centre owns the stream; a worker needs no right to create one (it retries).
        # A broker not up yet is waited for (each try logged with why); one that refuses
        # this worker's credentials ends the run with that reason.
        try:
            self.broker.start(stream=False, retry_until=self.shutdown)
        except BrokerUnreachable:
            if self.shutdown.is_set():
                self.centre.close()
                return "shutdown"
            raise
        self.broker.subscribe(control_subject(self.worker_id), self._on_control)
        hb = threading.Thread(target=self._heartbeats, name="heartbeat", daemon=True)
        hb.start()
        try:
            while not self.shutdown.is_set():
                self._poll()
                if self.exit_reason:
                    break
                # Back off while the centre does not answer (up to 5 s between tries).
                backoff = min(5.0, self.config.poll_s * 2 ** min(self._centre_failures, 3))
                self._wake.wait(backoff if self._centre_failures else self.config.poll_s)
                self._wake.clear()
        finally:
            self._stop_where(lambda r: True, self.exit_reason or "shutdown")
            self._join_all()
            self.shutdown.set()
            hb.join(5)
            self.broker.close(drain_s=10)
            self.centre.close()
            self.engine.close()
        return self.exit_reason or "shutdown"

    @property
    def centre_ok(self) -> bool:
        """The centre answered within the lease (else every camera is stopped)."""
        return time.monotonic() - self.last_ok <= self.config.lease_s

    def _centre_failed(self, e: CentreUnreachable) -> None:
        """Say why at WARNING, at growing intervals (a wrong --centre must not run silently,
        nor fill the log)."""
        self._centre_failures += 1
        now = time.monotonic()
        if now >= self._centre_next_warn:
            log.warning(
                "centre %s unreachable (%s); retrying (%d tries so far)",
                redact(self.config.centre), e, self._centre_failures,
            )  # fmt: skip
            self._centre_next_warn = now + min(60.0, 2.0 ** min(self._centre_failures, 6))

    def _poll(self) -> None:
        try:
            if self.control.centre_key is None:
                self.control.centre_key = self.centre.enrol(self.key.public)
            wanted = {a.deployment_id: a for a in self.centre.assignments()}
        except CentreUnreachable as e:
            self._centre_failed(e)
            away = time.monotonic() - self.last_ok
            if away > self.config.lease_s:
                if any(r.running for r in self.runs.values()):
                    log.warning("centre unreachable for %.0f s (%s): lease expired", away, e)
                self._stop_where(lambda r: True, "lease_expired")
            return
        except WorkerAuthError:
            self.exit_reason = "revoked"
            self._stop_where(lambda r: True, "revoked")
            return
        gap, self.last_ok = time.monotonic() - self.last_ok, time.monotonic()
        if self._centre_failures:
            log.info(
                "centre %s answers again after %.0f s: lease renewed",
                redact(self.config.centre),
                gap,
            )
            self._centre_failures, self._centre_next_warn = 0, 0.0
        elif gap > max(5.0, 3 * self.config.poll_s):
            log.info("centre answered again after %.0f s: lease renewed", gap)
        # Stop what is no longer assigned and live; restart (below) what changed: another
        # threshold, or a watchlist with an entry added or removed (an erasure).
        self._stop_where(lambda r: r.assignment.deployment_id not in wanted, "not_assigned")
        changed = lambda r: (  # noqa: E731
            r.assignment.deployment_id in wanted
            and _changed(r.assignment, wanted[r.assignment.deployment_id])
        )
        self._stop_where(changed, "changed")
        self._join_where(lambda r: r.stopped_by == "changed")
        for a in wanted.values():
            for cam in a.cameras:
                if cam not in self.config.cameras:
                    continue
                with self._lock:
                    r = self.runs.get((a.deployment_id, cam))
                    if r is not None and (r.running or r.stopped_by == "end_of_source"):
                        continue
                    failed = r is not None and (r.stopped_by or "").startswith("error:")
                    if failed and r is not None and time.monotonic() - r.ended < RETRY_AFTER_S:
                        continue  # a camera that failed is retried, not hammered
                self._start(a, cam)

    def _start(self, a: Assignment, cam: str) -> None:
        try:
            wl = self.centre.watchlist(a.deployment_id)
        except (CentreUnreachable, OpenLFRError) as e:
            log.warning("no watchlist for deployment %s: %s", a.deployment_id, e)
            return
        log.info("watchlist fetched deployment=%s entries=%d", a.deployment_id, len(wl.entry_ids))
        run = CameraRun(a, cam)
        run.thread = threading.Thread(
            target=self._run_camera, args=(run, wl), name=f"cam:{cam}", daemon=True
        )
        with self._lock:
            self.runs[(a.deployment_id, cam)] = run
        run.thread.start()

    def _run_camera(self, run: CameraRun, wl: Any) -> None:
        from openlfr.matching.watchlist import Watchlist
        from openlfr.pipeline.runner import Pipeline, PipelineConfig

        a, cfg0 = run.assignment, self.config.pipeline_config or PipelineConfig()
        try:
            engine = self.engine.get()
            if wl.contract_id != engine.contract.id:
                raise OpenLFRError("watchlist made with another model", source=wl.contract_id)
            watchlist = Watchlist(wl.entry_ids, wl.vectors, engine.contract)
            del wl
            sink = BrokerAlertSink(
                self.broker, self.worker_id, a.deployment_id, a.public_key, self.key, engine
            )
            cfg = PipelineConfig(
                **{
                    **{f: getattr(cfg0, f) for f in cfg0.__dataclass_fields__},
                    "camera_id": run.camera_id,
                    "threshold": a.threshold,
                }
            )
            pipe = Pipeline(engine, watchlist, sink, cfg, camera_allowed=lambda c: c in a.cameras)
            source = self._open(self.config.cameras[run.camera_id])
            run.state = "running"
            log.info("camera %s started deployment=%s", run.camera_id, a.deployment_id)

            def should_stop() -> bool:
                if a.ends_at is not None and self.clock() >= a.ends_at:
                    run.stopped_by = run.stopped_by or "end_time"
                    return True
                return run.stop.is_set()

            def on_status(c: Any) -> None:
                run.frames, run.dropped, run.faces = c.frames_processed, c.dropped_frames, c.tracks
                run.alerts, run.fps = c.alerts, c.fps
                if (
                    c.wall_s - run.seq * self.config.counters_every_s
                    >= self.config.counters_every_s
                ):
                    self._send_counters(run, final=False)

            summary = pipe.run(source, should_stop=should_stop, on_status=on_status)
            c = summary.counters
            run.frames, run.dropped, run.faces, run.alerts = (
                c.frames_processed, c.dropped_frames, c.tracks, c.alerts,
            )  # fmt: skip
            run.stopped_by = run.stopped_by or (
                "end_of_source" if summary.stopped_by == "end" else summary.stopped_by
            )
            log.info(
                "camera %s stopped deployment=%s: %s (frames %d, alerts %d)",
                run.camera_id, a.deployment_id, run.stopped_by, c.frames_processed, c.alerts,
            )  # fmt: skip
            self._send_counters(
                run,
                final=True,
                summary={
                    "frames": c.frames_processed,
                    "faces_detected": c.faces_detected,
                    "face_tracks": c.tracks,
                    "alerts": c.alerts,
                    "dropped_frames": c.dropped_frames,
                    "stopped_by": run.stopped_by,
                    "threshold": summary.threshold,
                },
            )
        except Exception as e:
            # Only the type: a message could carry frame data or paths the log must not hold.
            run.stopped_by = run.stopped_by or f"error:{type(e).__name__}"
            log.warning("camera %s stopped: %s", run.camera_id, type(e).__name__)
            if run.state == "running":
                # What it did process before failing still counts, and the run is on record.
                self._send_counters(
                    run,
                    final=True,
                    summary={
                        "frames": run.frames, "face_tracks": run.faces, "alerts": run.alerts,
                        "dropped_frames": run.dropped, "stopped_by": run.stopped_by,
                    },
                )  # fmt: skip
        finally:
            run.ended = time.monotonic()
            run.state = "stopped"

    def _send_counters(
        self, run: CameraRun, *, final: bool, summary: dict[str, Any] | None = None
    ) -> None:
        frames, faces = run.frames - run.sent_frames, run.faces - run.sent_faces
        run.seq += 1
        if not final and frames == 0 and faces == 0:
            return
        msg = CountersMessage(
            f"{run.run_id}:{run.seq}", run.assignment.deployment_id, self.worker_id,
            run.camera_id, frames, faces, final, summary or {},
        ).signed(self.key)  # fmt: skip
        run.sent_frames, run.sent_faces = run.frames, run.faces
        self.broker.publish_durable(
            counters_subject(run.assignment.deployment_id), msg.to_bytes(), msg.msg_id
        )

    def _open(self, spec: SourceSpec) -> Any:
        if callable(spec):
            return spec()
        from openlfr.pipeline.sources import open_source

        return open_source(spec, realtime=self.config.realtime)

    def _join_all(self, timeout: float = 20.0) -> None:
        self._join_where(lambda r: True, timeout)

    def _join_where(self, pred: Callable[[CameraRun], bool], timeout: float = 20.0) -> None:
        with self._lock:
            threads = [r.thread for r in self.runs.values() if r.thread is not None and pred(r)]
        for t in threads:
            t.join(timeout)

    # -- heartbeats -----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        with self._lock:
            runs = list(self.runs.values())
        return {
            "worker_id": self.worker_id,
            "at": time.time(),
            "outbox": self.broker.outbox_size,
            "cameras": {
                r.camera_id: {
                    "deployment_id": r.assignment.deployment_id,
                    "state": r.state,
                    "stopped_by": r.stopped_by,
                    "fps": round(r.fps, 2),
                    "frames": r.frames,
                    "dropped": r.dropped,
                    "alerts": r.alerts,
                }
                for r in runs
                if r.running or r.state == "stopped"
            },
        }

    def _heartbeats(self) -> None:
        while not self.shutdown.wait(self.config.heartbeat_s):
            st = {**self.status(), "nonce": new_nonce()}
            st[SIG] = self.key.sign(st)
            self.broker.publish(heartbeat_subject(self.worker_id), dumps(st))


def _changed(running: Assignment, now: Assignment) -> bool:
    return (running.threshold, running.watchlist_version) != (now.threshold, now.watchlist_version)


def _default_engine() -> Any:
    from openlfr.vision.engine import build_engine

    return build_engine()
