"""`openlfr demo`: a ready deployment on media that ships with the install.

The scene is built from scikit-image's public-domain NASA astronaut portrait (Eileen Collins):
the portrait walks across a synthetic background again and again, and the same person is on
the demo watchlist, so alerts arrive as soon as the operator starts the deployment. Everything
lives in a temporary data directory, never in the repository.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from openlfr.eval.approval import FpirPoint, ModelApproval
from openlfr.pipeline.sources import Frame, SourceStats
from openlfr.services.accounts import random_password
from openlfr.services.governance import GovernanceService

CAMERA = "demo-cam-1"
NAME = "Demo deployment"
LIST_CAP = 100  # the demo list's size cap: its floor is the one measured for lists of 100
ROLES = (
    ("officer", ["authorising_officer"]),
    ("reviewer", ["authorising_officer"]),
    ("compiler", ["watchlist_compiler"]),
    ("operator", ["operator"]),
    ("auditor", ["auditor"]),
)


def astronaut_bgr() -> np.ndarray:
    from skimage import data

    rgb = np.asarray(data.astronaut())
    return np.ascontiguousarray(rgb[:, :, ::-1])


def astronaut_jpeg() -> bytes:
    ok, buf = cv2.imencode(".jpg", astronaut_bgr(), [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return bytes(buf.tobytes())


class AstronautScene:
    """A FrameSource: the portrait crossing a 960x540 scene every `period_s`, paced in real time.

    Between crossings the scene is empty for a few seconds, so each crossing is a new face
    track (and so a new alert once the pipeline's per-subject cooldown has passed).
    """

    name = "demo:astronaut-scene"

    def __init__(
        self,
        *,
        fps: float = 10.0,
        period_s: float = 12.0,
        visible_s: float = 7.0,
        size: tuple[int, int] = (960, 540),
        loops: int | None = None,
        realtime: bool = True,
    ) -> None:
        self._fps, self.period_s, self.visible_s = fps, period_s, visible_s
        self.size, self.loops, self.realtime = size, loops, realtime
        # Paced like a camera: the pipeline drops frames rather than falling behind.
        self.live = realtime
        self.stats = SourceStats()
        self._closed = False
        w, h = size
        yy, xx = np.mgrid[0:h, 0:w]
        bg = np.stack([40 + 60 * yy / h, 70 + 50 * xx / w, 90 + 40 * (1 - yy / h)], axis=-1)
        # A tiled floor and a few "shop fronts" so it reads as a scene, not a blank slide.
        bg[int(h * 0.75) :, :, :] = (
            120 + 20 * (((xx[int(h * 0.75) :] // 40) + (yy[int(h * 0.75) :] // 20)) % 2)[..., None]
        )
        for i, x in enumerate(range(20, w, 190)):
            bg[40 : int(h * 0.7), x : x + 150] = (60 + 30 * (i % 3), 90, 140 - 20 * (i % 2))
        self.background = bg.astype(np.uint8)
        person = astronaut_bgr()[20:400, 90:430]  # head and shoulders
        self.person = cv2.resize(person, (255, 285), interpolation=cv2.INTER_AREA)

    @property
    def fps(self) -> float | None:
        return self._fps

    def frame_at(self, t: float) -> np.ndarray:
        img = self.background.copy()
        phase = t % self.period_s
        if phase < self.visible_s:
            w, h = self.size
            ph, pw = self.person.shape[:2]
            # A slow stroll: the face tracker needs overlapping boxes between detections.
            x = int(w * 0.12 + w * 0.45 * phase / self.visible_s)
            y = int(h * 0.18 + 8 * np.sin(phase * 3))
            x0, x1 = max(0, x), min(w, x + pw)
            if x1 > x0:
                img[y : y + ph, x0:x1] = self.person[:, x0 - x : x1 - x]
        return img

    def frames(self) -> Iterator[Frame]:
        t0 = time.time()
        i = 0
        per_loop = int(self.period_s * self._fps)
        while not self._closed:
            if self.loops is not None and i >= self.loops * per_loop:
                return
            t = i / self._fps
            if self.realtime:
                delay = t0 + t - time.time()
                if delay > 0:
                    time.sleep(delay)
            self.stats.frames_read += 1
            yield Frame(i, self.frame_at(t), time.time(), t)
            i += 1

    def close(self) -> None:
        self._closed = True


def demo_approval(contract_id: str, default: float, now_iso: str) -> ModelApproval:
    """A placeholder approval so the demo can be authorised. It is labelled as such in the
    audit log and the console; a real deployment records the approval from `openlfr eval`."""
    curve = tuple(
        FpirPoint(n, t, f * scale, f * scale * 1.5)
        for n, scale in ((10, 1.0), (100, 8.0), (1000, 60.0))
        for t, f in (
            (default - 0.2, 1e-2),
            (default - 0.1, 1e-3),
            (default, 1e-4),
            (default + 0.1, 1e-5),
        )
    )
    return ModelApproval(
        contract_id,
        now_iso,
        default - 0.05,
        default,
        1e-3,
        curve,
        "DEMO PLACEHOLDER - not an evaluation",
    )


@dataclass(frozen=True, slots=True)
class DemoWorld:
    deployment_id: str
    passwords: dict[str, str]
    threshold_note: str = ""


def demo_threshold(engine: Any, now_iso: str) -> tuple[ModelApproval, float, str]:
    """The model's packaged evaluation (its approval section) and the threshold a list of the
    demo's size runs with, with what bound it; a placeholder where the package has none for
    this model (the mock engine of the unit tests)."""
    from openlfr.errors import ModelError
    from openlfr.eval.calibration import approval_for
    from openlfr.vision.engine import default_threshold

    try:
        approval = approval_for(engine.contract, None)
    except ModelError:
        t = default_threshold(engine.contract)
        return demo_approval(engine.contract.id, t, now_iso), t, "a placeholder approval"
    t, bound = approval.deployment_floor(LIST_CAP, max_photos=1)
    return approval, t, f"the packaged evaluation's floor for a one-photo list: {bound}"


def subject_from_video(engine: Any, path: str, seconds: float = 1.0) -> bytes:
    """A JPEG of the best-quality large face in the video's first `seconds` (the demo's
    enrolled person when it runs on a video: the run then watches from `seconds` on)."""
    import av

    best: tuple[float, bytes] | None = None
    with av.open(path) as c:
        for f in c.decode(video=0):
            if f.time is not None and f.time > seconds:
                break
            found = engine.best_face_crop(np.ascontiguousarray(f.to_ndarray(format="bgr24")))
            if found is not None and (best is None or found[0] > best[0]):
                ok, buf = cv2.imencode(".jpg", found[1], [cv2.IMWRITE_JPEG_QUALITY, 95])
                if ok:
                    best = (found[0], bytes(buf.tobytes()))
    if best is None:
        from openlfr.errors import NoFaceError

        raise NoFaceError(f"no face of 60 px or more in the first {seconds:g} s", source=path)
    return best[1]


def prepare(
    svc: GovernanceService, admin_password: str, engine: Any, video: str | None = None
) -> DemoWorld:
    """Users, a model approval, an authorised deployment with the astronaut enrolled and signed
    off: everything except the start, which is the operator's to do from the console."""
    admin = svc.accounts.authenticate("admin", admin_password)
    passwords = {"admin": admin_password}
    people = {}
    for name, roles in ROLES:
        passwords[name] = random_password()
        people[name] = svc.accounts.create_user(admin, name, passwords[name], roles, name.title())
        # One person runs the demo and holds every account: as its holder it sets each password
        # and, at the host, confirms each role grant (audited as the host's), so the demo's
        # two-person steps can run. A real installation does this with two people.
        passwords[name], first = random_password(), passwords[name]
        svc.accounts.change_password(people[name], first, passwords[name])
        svc.accounts.confirm_roles(None, people[name].id)
    now = svc.ctx.clock()
    # Only staff with current training review alerts (issue 22): the demo operator's course.
    svc.training.record(
        admin,
        "operator",
        "Demo: LFR operator briefing",
        now.date(),
        now.date() + timedelta(days=365),
    )
    approval, threshold, note = demo_threshold(engine, now.isoformat())
    svc.approvals.record_model_approval(admin, approval)
    # A second person countersigns (separation of duties): the demo's officer.
    from openlfr.services.approvals import report_digest

    svc.approvals.countersign(people["officer"], approval.contract_id, report_digest(approval))
    dep = svc.deployments.create_deployment(
        people["officer"],
        NAME,
        purpose="locate_missing_or_vulnerable",
        location="Walkers video (demo)" if video else "Synthetic scene (demo)",
        cameras=[CAMERA],
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=8),
        dpia_ref="DEMO-DPIA",
        policy_ref="DEMO-APD",
        eia_ref="DEMO-EIA",
        necessity="Demonstration of the workflow on public-domain media; no real person is sought.",
        alternatives="Not applicable: demonstration only.",
        model_contract_id=engine.contract.id,
        threshold=threshold,
        expected_faces=2000,
        watchlist_size_cap=LIST_CAP,
        public_notice_at=now - timedelta(days=1),
        compiler="compiler",
        operators=["operator"],
        officers=["reviewer"],
        signage={},
    )
    svc.deployments.authorise(people["officer"], dep)
    svc.watchlists.add_entry_from_photo(
        people["compiler"],
        dep,
        engine,
        subject_from_video(engine, video) if video else astronaut_jpeg(),
        category="missing_or_vulnerable",
        legal_basis="Demonstration only",
        source_system="first second of the video" if video else "scikit-image sample data",
        image_captured_on=date(max(now.year - 1, 2000), 1, 1),
        reason="demo subject",
        subject_ref="DEMO-1",
    )
    svc.watchlists.sign_off(people["reviewer"], dep)
    return DemoWorld(dep, passwords, f"threshold {threshold:.4f}, bound by {note}")


def instructions(url: str, w: DemoWorld, data_dir: Path) -> str:
    pw = w.passwords
    return f"""OpenLFR demo is running at {url}
Data (temporary, deleted when you stop): {data_dir}

Operating threshold: {w.threshold_note}

One-time passwords (printed once, never stored in clear):
  operator   {pw["operator"]}   (live alerts: start, confirm/reject, outcome)
  officer    {pw["officer"]}   (authorising officer: drafts, missing items, authorise)
  compiler   {pw["compiler"]}   (watchlist compiler: enrol photos)
  reviewer   {pw["reviewer"]}   (second officer: watchlist sign-off)
  auditor    {pw["auditor"]}   (audit log, deletion receipts, subject access)
  admin      {pw["admin"]}   (users)

What to do:
  1. Open {url}/login and log in as operator.
  2. Deployments -> "{NAME}" -> Start deployment.
  3. Within a few seconds an alert appears on the Live alerts page: the camera crop beside
     the watchlist photo, with the raw score and the threshold.
  4. Type a reason and press Confirm (or Reject), then record the outcome.
  5. End the deployment from its page; log in as auditor to read the audit log and the
     public record at {url}/transparency.
"""
