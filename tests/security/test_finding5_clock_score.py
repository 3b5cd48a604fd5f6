"""Finding 5: the centre trusted the worker's clock and score: an alert whose frame was three
days before the deployment's window was recorded, and neither score nor threshold was checked.
Now the frame time must fall in the authorised window, the threshold must be the one in force,
and the score must reproduce from the alert's crop (the centre's own engine) or, without one,
from the probe template against the entry's template.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from openlfr.broker.messages import AlertMessage, AlertPayload
from openlfr.broker.protocol import SigningKey
from openlfr.errors import AlertClaimError, BrokerMessageError
from openlfr.services.ingest import Ingestor
from openlfr.services.workers import WorkerIdentity, WorkerService
from openlfr.storage import models as m
from openlfr.vision.imageio import ImageLimits, decode_image, encode_png
from openlfr.vision.mock import MOCK_CONTRACT, mock_engine
from tests.security._edge import Edge, edge
from tests.unit.api._support import CAMERA, face_png
from tests.unit.governance._support import MARKER, World, draft, proposal
from tests.unit.pipeline.conftest import BLUE, RED

DAY = 86400.0


@pytest.fixture
def e(w: World) -> Edge:
    return edge(w)


def _refusals(e: Edge) -> list[str]:
    with e.w.svc.ctx.factory() as s:
        q = select(m.AuditRecord.after_json).where(m.AuditRecord.action == "ingest.refuse")
        return list(s.execute(q).scalars())


def test_a_back_dated_alert_is_refused_and_audited(e: Edge) -> None:
    ing = Ingestor(e.w.svc)
    t = e.w.clock.now.timestamp() - 3 * DAY  # before the window opened
    msg = e.alert(frame_time=t, raised_at=t)
    with pytest.raises(AlertClaimError, match="before the deployment's window"):
        ing(msg, False)
    assert e.alerts_recorded() == 0
    (why,) = _refusals(e)
    assert msg.alert_id in why and "alert_claim_refused" in why


def test_a_score_or_threshold_the_centre_cannot_reproduce_is_refused(e: Edge) -> None:
    ing = Ingestor(e.w.svc)
    with pytest.raises(AlertClaimError, match="threshold other than"):
        ing(e.alert(threshold=0.3, score=0.35), False)
    with pytest.raises(AlertClaimError, match="under the threshold"):
        ing(e.alert(score=0.45), False)
    # Another person's face claimed as a 0.99 match of the entry.
    rng = np.random.default_rng(7)
    stranger = rng.standard_normal(MOCK_CONTRACT.dim).astype(np.float32)
    stranger /= np.linalg.norm(stranger)
    with pytest.raises(AlertClaimError, match="does not reproduce"):
        ing(e.alert(score=0.99, template=stranger), False)
    assert e.alerts_recorded() == 0 and len(_refusals(e)) == 3
    assert ing(e.alert(), False) == "recorded"  # the true one


def test_the_centre_re_embeds_the_crop_with_its_own_engine(w: World) -> None:
    """A worker holds the watchlist's templates, so it could send the entry's own template as
    the "probe" of any face. With an engine for the deployment's model, the centre embeds the
    crop itself: a blue face claimed as the red entry is refused, the red face recorded."""
    eng = mock_engine()
    alert = _red_entry(w, eng)
    red, blue = face_png(), face_png(BLUE)
    ing = Ingestor(w.svc, engine=lambda: eng)
    # The forger sends the entry's own template with a blue face's crop.
    with pytest.raises(AlertClaimError, match="does not reproduce"):
        ing(alert(blue), False)
    assert ing(alert(red), False) == "recorded"
    # With the pipeline's face geometry the centre aligns the crop as the pipeline did: the
    # face where the worker says it is re-scores; a box on the background does not.
    assert ing(alert(red, LM_RED), False) == "recorded"
    with pytest.raises(AlertClaimError, match="does not reproduce"):
        ing(alert(red, {"box": [0, 0, 50, 50], "landmarks": LM_RED["landmarks"]}), False)


def test_a_batch_s_crops_are_embedded_in_one_call_and_each_checked(w: World) -> None:
    """The centre embeds a fetched batch's crops together (cheaper per crop); each alert is
    still refused or recorded on its own: the blue face claimed as red and the crop that is
    not an image are refused, the red ones recorded."""
    eng = mock_engine()
    alert = _red_entry(w, eng)
    calls: list[int] = []
    real = eng.embed_chips

    def counted(chips: Any) -> Any:
        calls.append(len(chips))
        return real(chips)

    eng.embed_chips = counted  # type: ignore[method-assign]
    red, blue = face_png(), face_png(BLUE)
    items = [alert(red, LM_RED), alert(blue, LM_RED), alert(b"not a jpeg", LM_RED),
             alert(red, LM_RED)]  # fmt: skip
    out = Ingestor(w.svc, engine=lambda: eng).batch([(a, False) for a in items])
    assert out[0] == out[3] == "recorded"
    assert isinstance(out[1], AlertClaimError) and "does not reproduce" in str(out[1])
    assert isinstance(out[2], AlertClaimError) and "no face" in str(out[2])
    assert calls == [3]  # the three decodable crops, in one call


LM_RED: dict[str, Any] = {
    "box": [60, 60, 140, 140],
    "landmarks": [[80.0, 90.0], [120.0, 90.0], [100.0, 110.0], [85.0, 125.0], [115.0, 125.0]],
}


def _red_entry(w: World, eng: Any) -> Any:
    """A live deployment on the mock model whose one entry is the red face; returns a maker of
    signed alerts (a crop, its face geometry) claiming that entry at score 1.0."""
    red = face_png()
    red_t = eng.face_from_image(decode_image(red, limits=ImageLimits(), label="red")).template
    dep = draft(w, cameras=[CAMERA])
    w.svc.deployments.authorise(w.ao1, dep)
    entry, _ = w.svc.watchlists.add_entry(
        w.compiler, dep, proposal(subject_ref="PND/red"), red_t, MARKER + b"r" * 40
    )
    w.svc.watchlists.sign_off(w.ao2, dep)
    w.clock.advance(hours=1)
    w.svc.deployments.start(w.op1, dep)
    ws = WorkerService(w.svc)
    wid, _ = ws.issue(w.admin, "van")
    key = SigningKey.generate()
    ws.enrol(WorkerIdentity(wid, "van"), key.public)
    ws.assign(w.ao1, wid, dep)
    (a,) = ws.assignments(WorkerIdentity(wid, "van"))

    def alert(
        probe_png: bytes, face: dict[str, Any] | None = None, score: float = 1.0, **over: Any
    ) -> AlertMessage:
        now = w.clock.now.timestamp()
        p = AlertPayload(
            entry, score, 0.5, MOCK_CONTRACT.id, now, now, 1, 0.0, probe_png, b"",
            template=red_t.vector, template_contract=MOCK_CONTRACT.to_dict(), probe_face=face,
            **over,
        )  # fmt: skip
        return AlertMessage.seal(
            bytes.fromhex(a["alert_public_key"]), alert_id=uuid.uuid4().hex, deployment_id=dep,
            worker_id=wid, camera_id=CAMERA, payload=p,
        ).signed(key)  # fmt: skip

    return alert


def _chip(colour: tuple[int, int, int], size: int = 32) -> bytes:
    return encode_png(np.full((size, size, 3), colour, np.uint8))


REDDISH = (0, 90, 180)  # another mock identity: its own embedding, far from red's


def test_a_fused_probe_is_re_embedded_from_its_own_chips(w: World) -> None:
    """The pipeline alerts on a probe fused from a track's shots; one crop of it alone scores
    lower (on the walkers clip by 0.03 at the median and over 0.05 a third of the time), so
    re-embedding the crop refused honest alerts near the threshold. The alert now carries the
    chips its probe was fused from and the centre re-fuses them: that honest alert is recorded,
    while the same alert with only its crop is refused as before, and chips of another face, or
    chips that are not the model's, are refused."""
    eng = mock_engine()
    alert = _red_entry(w, eng)
    red, reddish = _chip(RED), _chip(REDDISH)
    vecs = eng.embed_chips(
        [decode_image(c, limits=ImageLimits(), label="c") for c in (red, reddish)]
    )
    fused = vecs.mean(0) / np.linalg.norm(vecs.mean(0))
    claimed = float(fused @ vecs[0])  # the fused probe against the red entry
    single = float(vecs[1] @ vecs[0])  # the last shot (the crop sent) alone
    assert claimed >= 0.5 > single + 0.05  # over the threshold fused, well under it alone
    ing = Ingestor(w.svc, engine=lambda: eng)
    crop = face_png(REDDISH)
    with pytest.raises(AlertClaimError):  # the crop alone: the old check refuses it
        ing(alert(crop, score=claimed), False)
    assert ing(alert(crop, score=claimed, shot_chips=[red, reddish]), False) == "recorded"
    # Forgeries: another face's chips claimed as the entry; a claim the chips do not give.
    with pytest.raises(AlertClaimError, match="does not reproduce"):
        ing(alert(crop, score=1.0, shot_chips=[_chip(BLUE), reddish]), False)
    with pytest.raises(AlertClaimError, match="does not reproduce"):
        ing(alert(crop, score=claimed + 0.05, shot_chips=[red, reddish]), False)
    with pytest.raises(AlertClaimError, match="not an image"):
        ing(alert(crop, score=claimed, shot_chips=[b"not a png", red]), False)
    with pytest.raises(AlertClaimError, match="chip size"):
        ing(alert(crop, score=claimed, shot_chips=[_chip(RED, 64), reddish]), False)


def test_too_many_or_too_large_shot_chips_are_not_an_alert() -> None:
    base = AlertPayload("e", 0.7, 0.5, "c", 1.0, 1.0, 1, 0.0, b"x", b"y")
    ok = replace(base, shot_chips=[b"c"] * 4)
    assert AlertPayload.from_bytes(ok.to_bytes()).shot_chips == [b"c"] * 4
    for bad in ([b"c"] * 9, [b"c" * (300 * 1024)]):
        with pytest.raises(BrokerMessageError, match="shot_chips"):
            AlertPayload.from_bytes(replace(base, shot_chips=bad).to_bytes())
