"""Synthetic alerts through the broker, for benchmarks and fault tests (no video, no model).

Each alert goes the worker's way exactly (sealed to the deployment's key, durable publish with
the alert id as Nats-Msg-Id); its frame time is its publish time, so whoever sees it at the
centre can measure publish-to-visible latency from the alert itself.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np

from openlfr.broker.client import BrokerClient
from openlfr.broker.messages import AlertMessage, AlertPayload
from openlfr.broker.protocol import SigningKey
from openlfr.broker.subjects import alert_subject

# Not a face: a JPEG header and noise, so the wire format is the real one.
FAKE_JPEG_HEAD = b"\xff\xd8\xff\xe0SYNTHETIC"


@dataclass(frozen=True, slots=True)
class Target:
    worker_id: str
    deployment_id: str
    public_key: bytes
    camera_id: str
    entry_ids: tuple[str, ...]
    contract_id: str
    threshold: float
    key: SigningKey  # the worker's, enrolled with the centre
    # Per entry, a probe template the centre re-scores the claim with (the entry's own: 1.0).
    probes: tuple[np.ndarray, ...] = ()
    contract: Any = None  # the EmbeddingContract of `probes`
    # A real face crop (JPEG) and its face's geometry, for a centre that re-embeds crops with
    # its own engine; None: a JPEG header and noise.
    probe_jpeg: bytes | None = None
    probe_face: dict[str, list[Any]] | None = None
    # The aligned chips (PNG) a real alert's probe is fused from; the centre re-embeds them.
    shot_chips: tuple[bytes, ...] = ()


def synthetic_alerts(
    client: BrokerClient, target: Target, n: int, rate_per_s: float, *, crop_bytes: int = 6000
) -> list[tuple[str, float]]:
    """Publish `n` alerts at `rate_per_s`; returns (alert id, publish time) for each."""
    out: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    for i in range(n):
        due = t0 + i / rate_per_s
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        now = time.time()
        aid = uuid.uuid4().hex
        k = i % len(target.entry_ids)
        probe = target.probes[k] if target.probes else None
        payload = AlertPayload(
            subject_id=target.entry_ids[k],
            score=1.0 if probe is not None else target.threshold + 0.1,
            threshold=target.threshold,
            contract_id=target.contract_id,
            frame_time=now,
            raised_at=now,
            frame_index=i,
            media_s=i / 25.0,
            probe_jpeg=target.probe_jpeg or FAKE_JPEG_HEAD + os.urandom(crop_bytes),
            probe_face=target.probe_face,
            scene_jpeg=FAKE_JPEG_HEAD + os.urandom(crop_bytes * 4),
            template=probe,
            template_contract=target.contract.to_dict() if target.contract else None,
            shot_chips=list(target.shot_chips),
        )
        msg = AlertMessage.seal(
            target.public_key,
            alert_id=aid,
            deployment_id=target.deployment_id,
            worker_id=target.worker_id,
            camera_id=target.camera_id,
            payload=payload,
        ).signed(target.key)
        client.publish_durable(alert_subject(target.deployment_id), msg.to_bytes(), aid)
        out.append((aid, now))
    return out
