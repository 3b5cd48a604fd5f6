"""Prometheus metrics: counts and latencies only, never identities (no user, subject or entry
ids in any label; the camera id names a device, not a person)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        # One registry per app so tests can build many apps in one process.
        self.registry = CollectorRegistry()
        r = self.registry
        self.frames = Counter("openlfr_frames", "Frames processed", ["camera"], registry=r)
        self.dropped = Counter(
            "openlfr_dropped_frames", "Frames dropped to stay live", ["camera"], registry=r
        )
        self.faces = Counter("openlfr_faces_detected", "Face detections", ["camera"], registry=r)
        self.tracks = Counter(
            "openlfr_face_tracks", "Face tracks (people seen)", ["camera"], registry=r
        )
        self.alerts = Counter("openlfr_alerts", "Alerts raised", ["camera"], registry=r)
        self.alert_latency = Histogram(
            "openlfr_alert_latency_seconds",
            "Frame capture to alert raised",
            buckets=(0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10),
            registry=r,
        )
        self.http_latency = Histogram(
            "openlfr_http_request_seconds",
            "HTTP request handling time",
            ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.logins = Counter("openlfr_logins", "Login attempts", ["result"], registry=r)
        self.pipelines = Gauge("openlfr_pipelines_running", "Live camera pipelines", registry=r)
