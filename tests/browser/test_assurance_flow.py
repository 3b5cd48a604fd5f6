"""Acceptance of item 12 in a real (headless) Chromium.

An authorised, signed-off deployment with two cameras: `arcade-1` plays the walkers video,
`arcade-2` the same video heavily blurred (a degraded camera). The operator starts it, enrols
two consenting test subjects from photos (faces cropped from the video's first frames), runs a
test walk-by on each camera and sees the TPIR on the day; the blurred camera falls below the
authorised level and the deployment is flagged until its authorising officer acknowledges.
After the end, the public page shows the walk-by result and passes axe-core (no serious or
critical violations), on a desktop and on a phone-sized screen.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from openlfr.api import create_app
from openlfr.config.governance import GovernanceSettings
from openlfr.pipeline.sources import PyAVSource
from openlfr.services.governance import GovernanceService
from openlfr.storage.crypto import MasterKey
from openlfr.storage.db import make_engine, session_factory, upgrade
from openlfr.vision.engine import FaceEngine, build_engine, default_threshold
from tests.browser.conftest import REQUIRE_BROWSER
from tests.conftest import ROOT
from tests.unit.api._support import running_server
from tests.unit.governance._support import (
    FAST_HASHER,
    KEY,
    PASSWORD,
    approval_for,
    settle_accounts,
)


def _trained_now() -> tuple[date, date]:
    """A current course on the real clock these tests run on: completed, expires."""
    today = datetime.now(UTC).date()
    return today - timedelta(days=30), today + timedelta(days=335)


pytestmark = [pytest.mark.browser, pytest.mark.data, pytest.mark.slow]
AXE = Path(
    os.environ.get("OPENLFR_AXE", ROOT / ".axe" / "node_modules" / "axe-core" / "axe.min.js")
)
CLEAR, FOGGY = "arcade-1", "arcade-2"
# Two different people, by where their faces are in the first frames (frame, x, y).
WALKERS = ((0, 913, 632), (12, 727, 569))
WATCHLISTED = (0, 1413, 487)  # a third person: the watchlist must not be empty
MIN_TPIR = 0.5


class Blurred:
    """A degraded camera: every frame heavily blurred (rain, a smeared lens)."""

    def __init__(self, inner: Any, sigma: float = 8.0) -> None:
        self.inner, self.sigma = inner, sigma
        self.name, self.live, self.stats = inner.name, inner.live, inner.stats

    @property
    def fps(self) -> float | None:
        return float(self.inner.fps) if self.inner.fps else None

    def frames(self) -> Iterator[Any]:
        for f in self.inner.frames():
            f.image = cv2.GaussianBlur(f.image, (0, 0), self.sigma)
            yield f

    def close(self) -> None:
        self.inner.close()


def _crop(engine: FaceEngine, frames: dict[int, np.ndarray], where: tuple[int, int, int]) -> bytes:
    """The face nearest `where`, cropped with a margin, as a JPEG "photo"."""
    idx, x, y = where
    img = frames[idx]
    d = min(engine.detect(img), key=lambda d: (d.x1 - x) ** 2 + (d.y1 - y) ** 2)
    m, (h, w) = 0.4 * d.width, img.shape[:2]
    crop = img[
        int(max(0, d.y1 - m)) : int(min(h, d.y2 + m)), int(max(0, d.x1 - m)) : int(min(w, d.x2 + m))
    ]
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return bytes(buf.tobytes())


@pytest.fixture(scope="module")
def photos(video_path: Path, sface_engine: FaceEngine) -> dict[str, bytes]:
    import av

    with av.open(str(video_path)) as c:
        frames = {
            i: np.ascontiguousarray(f.to_ndarray(format="bgr24"))
            for i, f in enumerate(c.decode(video=0))
            if i in (0, 12)
        }
    return {
        "walker-1": _crop(sface_engine, frames, WALKERS[0]),
        "walker-2": _crop(sface_engine, frames, WALKERS[1]),
        "watchlisted": _crop(sface_engine, frames, WATCHLISTED),
    }


@pytest.fixture
def setup(
    tmp_path: Path, video_path: Path, sface_engine: FaceEngine, photos: dict[str, bytes]
) -> Iterator[tuple[str, str, Any]]:
    """Everything before go-live done through the service (the console flow test covers it)."""
    url = f"sqlite:///{tmp_path / 'assurance.sqlite3'}"
    upgrade(url)
    svc = GovernanceService(
        session_factory(make_engine(url)),
        settings=GovernanceSettings(),
        master_key=lambda: MasterKey(KEY),
        hasher=FAST_HASHER,
    )
    admin = svc.accounts.create_user(None, "admin", PASSWORD, ["administrator"])
    ppl = {
        n: svc.accounts.create_user(admin, n, PASSWORD, [r])
        for n, r in (
            ("ao1", "authorising_officer"),
            ("ao2", "authorising_officer"),
            ("compiler", "watchlist_compiler"),
            ("op1", "operator"),
        )
    }
    svc.training.record(admin, "op1", "LFR operator", *_trained_now())  # only trained staff review
    settle_accounts(svc)  # own passwords, roles confirmed: each may be one of two people
    c = sface_engine.contract
    t = default_threshold(c)
    now = datetime.now(UTC)
    from openlfr.services.approvals import report_digest

    approval = approval_for(c, floor=t - 0.05, at=now - timedelta(days=1))
    svc.approvals.record_model_approval(admin, approval)
    svc.approvals.countersign(ppl["ao2"], c.id, report_digest(approval))
    dep = svc.deployments.create_deployment(
        ppl["ao1"],
        "Arcade walk-by (browser test)",
        purpose="locate_missing_or_vulnerable",
        location="Shopping arcade, test",
        cameras=[CLEAR, FOGGY],
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=2),
        dpia_ref="DPIA-T",
        policy_ref="APD-T",
        eia_ref="EIA-T",
        necessity="Missing vulnerable person last seen in the arcade.",
        alternatives="Patrols and CCTV review considered; too slow for a crowd.",
        model_contract_id=c.id,
        threshold=t,
        expected_faces=5000,
        public_notice_at=now - timedelta(days=2),
        compiler="compiler",
        operators=["op1"],
        officers=["ao2"],
    )
    svc.assurance.configure(ppl["ao1"], dep, min_walkby_tpir=MIN_TPIR)
    svc.deployments.authorise(ppl["ao1"], dep)
    svc.watchlists.add_entry_from_photo(
        ppl["compiler"],
        dep,
        sface_engine,
        photos["watchlisted"],
        category="missing_or_vulnerable",
        legal_basis="Missing person report 7",
        source_system="Custody",
        image_captured_on=now.date() - timedelta(days=30),
        reason="reported missing",
        subject_ref="MISPER-7",
    )
    svc.watchlists.sign_off(ppl["ao2"], dep)
    app = create_app(
        svc,
        engine_factory=build_engine,
        sources={
            CLEAR: lambda: PyAVSource(str(video_path), start_s=1.0),
            FOGGY: lambda: Blurred(PyAVSource(str(video_path), start_s=1.0)),
        },
        retention=False,
    )
    with running_server(app) as base:
        yield base, dep, app


def _login(page: Any, base: str, user: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def _axe(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text())
    res = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in res["violations"] if v["impact"] in ("serious", "critical")]


def test_walkby_flag_acknowledgement_and_accessible_public_page(
    browser: Any,
    setup: tuple[str, str, Any],
    photos: dict[str, bytes],
    artifacts: Path,
    tmp_path: Path,
) -> None:
    if not AXE.exists():
        msg = f"axe-core not found at {AXE} (npm install --prefix .axe axe-core)"
        if REQUIRE_BROWSER:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    base, dep, app = setup
    dep_url = f"{base}/deployments/{dep}"
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    shot = lambda name: page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)  # noqa: E731

    # -- operator: start; the profile is shown; enrol two consenting staff from photos ------
    _login(page, base, "op1")
    page.goto(dep_url)
    assert "Police (UK)" in page.inner_text("#controller-profile")
    page.click("#start")
    page.click("#confirm-yes")
    page.wait_for_url(f"{base}/operator")
    app.state.ctx.live.stop(dep)  # the operational feeds are not under test here
    page.goto(dep_url)
    for i, name in enumerate(("walker-1", "walker-2")):
        photo = tmp_path / f"{name}.jpg"
        photo.write_bytes(photos[name])
        page.set_input_files("#test-subject-form [name=photo]", str(photo))
        page.fill("#test-subject-form [name=subject_ref]", f"PC {100 + i}")
        page.fill("#test-subject-form [name=consent_ref]", f"CONSENT-{i}")
        page.fill("#test-subject-form [name=consented_on]", datetime.now(UTC).date().isoformat())
        if i == 0:  # the person chose to say; the other did not
            page.select_option("#test-subject-form [name=declared_sex]", "female")
        with page.expect_navigation():
            page.click("#test-subject-form button[type=submit]")
    assert page.locator("#test-list tbody tr").count() == 2

    # -- a walk-by on the clear camera: TPIR on the day --------------------------------------
    page.select_option("#walkby-form [name=camera_id]", CLEAR)
    with page.expect_navigation(timeout=240_000):
        page.click("#walkby-form button[type=submit]")
    row = page.locator("#walkby-runs tr.walkby").first
    assert CLEAR in row.inner_text()
    tpir = float(row.locator(".tpir").inner_text().split()[0])
    assert tpir >= MIN_TPIR, row.inner_text()
    assert page.locator("#walkby-flag").count() == 0
    shot("a1-walkby-clear")

    # -- the degraded camera falls below the level: flagged until acknowledged --------------
    page.select_option("#walkby-form [name=camera_id]", FOGGY)
    with page.expect_navigation(timeout=240_000):
        page.click("#walkby-form button[type=submit]")
    low = page.locator("#walkby-runs tr.walkby.below")
    assert low.count() == 1 and FOGGY in low.inner_text()
    assert "must acknowledge" in page.inner_text("#walkby-flag")
    assert "walk-by below" in page.inner_text("#held")
    shot("a2-walkby-flagged")
    page.goto(f"{base}/operator")
    assert "alerts held" in page.inner_text(".held")
    _login(page, base, "ao1")
    page.goto(dep_url)
    page.fill("#ack-form [name=reason]", "camera 2 lens smeared; cleaned, re-test at 14:00")
    with page.expect_navigation():
        page.click("#ack-form button[type=submit]")
    assert "acknowledged" in page.inner_text("#walkby-flag")
    assert page.locator("#held").count() == 0
    shot("a3-officer-acknowledged")

    # -- end; the public record shows the walk-by result and passes axe -----------------------
    _login(page, base, "op1")
    page.goto(dep_url)
    page.click("#end")
    page.click("#confirm-yes")
    page.wait_for_selector("#dep-state:has-text('ended')")
    page.context.clear_cookies()
    for label, size in (("desktop", (1280, 900)), ("phone", (390, 844))):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.goto(f"{base}/transparency")
        text = page.inner_text(f"#pub-{dep}")
        assert f"{CLEAR}: " in text and f"{FOGGY}: 0/2" in text and "below level" in text
        assert "Equality monitoring" in page.inner_text("#annual")
        bad = _axe(page)
        (artifacts / f"axe-{label}.json").write_text(json.dumps(bad, indent=2))
        assert not bad, [(v["id"], v["impact"], v["help"]) for v in bad]
        # Readable on a phone: nothing wider than the screen but the scrollable tables.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{label}: page is {overflow}px wider than the screen"
        shot(f"a4-public-{label}")
    r = page.request.get(f"{base}/api/v1/public/deployments.csv")
    assert r.ok and "assurance.walkby_result" in r.text()
    ctx.close()
