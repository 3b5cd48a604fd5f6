"""The worker's AlertSink: re-embed the matched crop, seal everything to the centre, publish.

The same re-embedding the in-process governance sink does (so subject access can find the
alert by photo), done here because the centre runs no face model. What is published is sealed
to the deployment's public key before it leaves this function.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from openlfr.broker.client import BrokerClient
from openlfr.broker.messages import AlertMessage, AlertPayload
from openlfr.broker.protocol import SigningKey
from openlfr.broker.subjects import alert_subject
from openlfr.errors import FaceError, ImageError
from openlfr.vision.imageio import ImageLimits, decode_image

log = logging.getLogger(__name__)


@dataclass(slots=True)
class BrokerAlertSink:
    client: BrokerClient
    worker_id: str
    deployment_id: str
    public_key: bytes
    key: SigningKey
    engine: Any = None
    published: int = 0

    def emit(self, alert: Any) -> None:
        template, contract = None, None
        if self.engine is not None:
            try:
                img = decode_image(
                    alert.probe_crop_jpeg, limits=ImageLimits(), label=alert.alert_id
                )
                t = self.engine.face_from_image(img, select="largest").template
                template, contract = t.vector, t.contract.to_dict()
            except (FaceError, ImageError):
                template = None
        payload = AlertPayload(
            subject_id=alert.subject_id,
            score=float(alert.score),
            threshold=float(alert.threshold),
            contract_id=str(alert.contract.get("id", "")),
            frame_time=float(alert.frame_time),
            raised_at=float(alert.raised_at),
            frame_index=int(alert.frame_index),
            media_s=float(alert.media_s),
            probe_jpeg=alert.probe_crop_jpeg,
            scene_jpeg=alert.scene_jpeg,
            template=template,
            template_contract=contract,
            probe_face=getattr(alert, "probe_face", None),
            shot_chips=list(getattr(alert, "shot_chips", ())),
        )
        msg = AlertMessage.seal(
            self.public_key,
            alert_id=alert.alert_id,
            deployment_id=self.deployment_id,
            worker_id=self.worker_id,
            camera_id=alert.camera_id,
            payload=payload,
        ).signed(self.key)
        self.client.publish_durable(
            alert_subject(self.deployment_id), msg.to_bytes(), msg_id=alert.alert_id
        )
        self.published += 1
        log.info(
            "alert %s sealed and queued deployment=%s camera=%s",
            alert.alert_id, self.deployment_id, alert.camera_id,
        )  # fmt: skip
