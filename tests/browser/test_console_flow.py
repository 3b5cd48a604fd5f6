"""Acceptance: the whole governed flow through the console in a real (headless) Chromium.

Officer drafts and authorises -> compiler enrols LFW photos and a subject from the walkers
video -> a second officer signs off -> the operator starts the deployment on
../shared/data/video/walkers_1080p.mp4, sees the alert arrive live, confirms it and records the
outcome, then ends it -> the auditor checks the audit chain -> the public transparency record
shows the result. Screenshots of the main screens go to $OPENLFR_ARTIFACTS/browser.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from openlfr.api import create_app
from openlfr.config.governance import GovernanceSettings
from openlfr.errors import FaceError
from openlfr.pipeline.sources import PyAVSource
from openlfr.services.governance import GovernanceService
from openlfr.storage.crypto import MasterKey
from openlfr.storage.db import make_engine, session_factory, upgrade
from openlfr.vision.engine import FaceEngine, build_engine, default_threshold
from tests.integration.governance.conftest import lfw_photos, mated_jpeg  # noqa: F401
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
CAMERA = "arcade-1"
PEOPLE = {
    "admin": ["administrator"],
    "ao1": ["authorising_officer"],
    "ao2": ["authorising_officer"],
    "compiler": ["watchlist_compiler"],
    "op1": ["operator"],
    "dpo": ["auditor"],
}


@pytest.fixture
def server(tmp_path: Path, video_path: Path, sface_engine: FaceEngine) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'console.sqlite3'}"
    upgrade(url)
    svc = GovernanceService(
        session_factory(make_engine(url)),
        settings=GovernanceSettings(),
        master_key=lambda: MasterKey(KEY),
        hasher=FAST_HASHER,
    )
    admin = svc.accounts.create_user(None, "admin", PASSWORD, ["administrator"])
    for name, roles in PEOPLE.items():
        if name != "admin":
            svc.accounts.create_user(admin, name, PASSWORD, roles)
            if "operator" in roles:  # only trained staff review
                svc.training.record(admin, name, "LFR operator", *_trained_now())
    settle_accounts(svc)  # own passwords, roles confirmed: each may be one of two people
    c = sface_engine.contract
    t = default_threshold(c)
    approval = approval_for(c, floor=t - 0.05, at=datetime.now(UTC) - timedelta(days=1))
    svc.approvals.record_model_approval(admin, approval)
    from openlfr.services.approvals import report_digest

    svc.approvals.countersign(svc.accounts.actor("ao2"), c.id, report_digest(approval))
    # Offline (every frame processed) so the run is the same however loaded the machine is.
    app = create_app(
        svc,
        engine_factory=build_engine,
        sources={CAMERA: lambda: PyAVSource(str(video_path))},
        retention=False,
    )
    with running_server(app) as base:
        yield base


def _login(page: Any, base: str, user: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def _local(dt: datetime) -> str:
    return dt.astimezone().strftime("%Y-%m-%dT%H:%M")


def test_whole_flow_in_chromium(
    browser: Any,
    server: str,
    artifacts: Path,
    tmp_path: Path,
    sface_engine: FaceEngine,
    lfw_photos: list[tuple[str, Path]],  # noqa: F811
    mated_jpeg: bytes,  # noqa: F811
) -> None:
    base = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    shot = lambda name: page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)  # noqa: E731

    # -- authorising officer: draft, see nothing missing, authorise -------------------------
    _login(page, base, "ao1")
    page.goto(f"{base}/deployments")
    now = datetime.now(UTC)
    form = "#draft-form"
    for name, value in {
        "name": "Arcade (browser test)",
        "location": "Shopping arcade, test",
        "cameras": CAMERA,
        "starts_at": _local(now - timedelta(minutes=5)),
        "ends_at": _local(now + timedelta(hours=2)),
        "dpia_ref": "DPIA-T",
        "policy_ref": "APD-T",
        "eia_ref": "EIA-T",
        "threshold": str(default_threshold(sface_engine.contract)),
        "expected_faces": "5000",
        "public_notice_at": _local(now - timedelta(days=2)),
        "operators": "op1",
        "officers": "ao2",
        "necessity": "Missing vulnerable person last seen in the arcade.",
        "alternatives": "Patrols and CCTV review considered; too slow for a crowd.",
    }.items():
        page.fill(f"{form} [name={name}]", value)
    page.select_option(f"{form} [name=purpose]", "locate_missing_or_vulnerable")
    page.select_option(f"{form} [name=compiler]", "compiler")
    page.select_option(f"{form} [name=model_contract_id]", sface_engine.contract.id)
    shot("01-officer-draft-form")
    page.click(f"{form} button[type=submit]")
    page.wait_for_url(re.compile(r"/deployments/[0-9a-f]+$"))
    dep_url = page.url
    page.wait_for_selector("#ready-ok")
    assert page.inner_text("#efa") != ""
    shot("02-officer-ready-to-authorise")
    page.click("#authorise")
    page.click("#confirm-yes")  # the confirmation says what authorising does
    page.wait_for_selector("#dep-state:has-text('authorised')")

    # -- compiler: enrol LFW photos and the subject, with quality feedback ------------------
    _login(page, base, "compiler")
    page.goto(dep_url)
    subject = tmp_path / "subject.jpg"
    subject.write_bytes(mated_jpeg)
    # One enrolled person has a second usable LFW photo, added below as another occasion.
    second = None
    for n, p in lfw_photos:
        for q in sorted(p.parent.glob("*.jpg")):
            if q != p and second is None:
                try:
                    sface_engine.face_from_file(q, select="strict")
                    second = (n, p, q)
                except FaceError:
                    pass
    assert second is not None, "no LFW person among the first 30 with a second usable photo"
    picks = [(second[0], second[1]), *[(n, p) for n, p in lfw_photos if n != second[0]][:3]]
    uploads = [(p, "suspected_of_offence", n) for n, p in picks]
    uploads.append((subject, "missing_or_vulnerable", "MISPER-1"))

    def fill_entry(photo: Path, category: str, ref: str) -> None:
        page.set_input_files("#entry-form [name=photo]", str(photo))
        page.select_option("#entry-form [name=category]", category)
        page.fill("#entry-form [name=legal_basis]", "Court order 42")
        page.fill("#entry-form [name=source_system]", "Custody")
        page.fill("#entry-form [name=image_captured_on]", "2025-06-01")
        page.fill("#entry-form [name=subject_ref]", ref)
        page.fill("#entry-form [name=reason]", "named in the order")

    for photo, category, ref in uploads:
        fill_entry(photo, category, ref)
        with page.expect_navigation():
            page.click("#entry-form button[type=submit]")
    assert page.locator("#watchlist tbody tr").count() == len(uploads)
    # A non-image is refused with a clear message and nothing is added.
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"not a photo")
    fill_entry(bad, "suspected_of_offence", "X-1")
    page.click("#entry-form button[type=submit]")
    page.wait_for_selector("#entry-form .form-error:not(:empty)")
    assert page.locator("#watchlist tbody tr").count() == len(uploads)
    # A second photo (another LFW image of the same person) for the first entry: its photo
    # count goes to 2 and its single-photo flag goes.
    assert page.locator("#single-photo-warning").count() == 1
    row = page.locator("#watchlist tr[data-entry]").nth(0)
    row.locator("form.add-photo [name=photo]").set_input_files(str(second[2]))
    row.locator("form.add-photo [name=image_captured_on]").fill("2024-03-01")
    with page.expect_navigation():
        row.locator("form.add-photo button[type=submit]").click()
    row = page.locator("#watchlist tr[data-entry]").nth(0)
    assert row.locator("td.photos").inner_text() == "2"
    assert "single_photo" not in row.inner_text()
    shot("03-compiler-watchlist")

    # -- second officer signs off -----------------------------------------------------------
    _login(page, base, "ao2")
    page.goto(dep_url)
    page.click("#sign-off")
    page.click("#confirm-yes")
    page.wait_for_selector("#watchlist h2:has-text('signed off')")
    shot("04-reviewer-signed-off")

    # -- operator: start, the alert arrives live, confirm, outcome, end ---------------------
    _login(page, base, "op1")
    page.goto(dep_url)
    page.click("#start")
    page.click("#confirm-yes")
    page.wait_for_url(f"{base}/operator")
    card = page.locator(".alert").first
    card.wait_for(timeout=180_000)
    # Polled from here: wait_for_function's in-page polling evaluates a string, which the
    # console's CSP (script-src 'self', no unsafe-eval) rightly refuses.
    loaded = "img => img.complete && img.naturalWidth > 0"
    deadline = time.monotonic() + 30
    while not all(card.locator(sel).evaluate(loaded) for sel in (".a-probe", ".a-ref")):
        assert time.monotonic() < deadline, "the alert's images did not load"
        page.wait_for_timeout(100)
    band = card.locator(".a-band")
    assert float(band.get_attribute("data-score")) >= float(band.get_attribute("data-threshold"))
    assert card.locator(".a-camera").inner_text() == CAMERA
    assert card.locator(".a-category").inner_text() == "Missing or vulnerable"
    shot("05-operator-alert")
    card.locator("textarea[name=reason]").fill("same face and clothing as the custody image")
    card.locator("button.confirm").click()
    page.wait_for_selector(".alert[data-status=confirmed]")
    card.locator("input[name=engaged]").check()
    card.locator("input[name=duration_s]").fill("240")
    card.locator("select[name=result]").select_option("condition_check")
    card.locator("button.record-outcome").click()
    page.wait_for_selector(".outcome-recorded")
    shot("06-operator-confirmed")
    assert page.locator(".alert").count() == 1  # only the mated subject ever alerted
    page.goto(dep_url)
    page.click("#end")
    page.click("#confirm-yes")
    page.wait_for_selector("#dep-state:has-text('ended')")
    shot("07-operator-ended")

    # -- auditor and the public ----------------------------------------------------------
    _login(page, base, "dpo")
    page.goto(f"{base}/audit")
    assert "intact" in page.inner_text("#chain")
    shot("08-auditor-audit-log")
    _login(page, base, "admin")
    page.goto(f"{base}/admin")
    shot("09-admin-users")
    page.context.clear_cookies()
    page.goto(f"{base}/transparency")
    record = page.locator("section.public").first
    text = record.inner_text()
    assert "Arcade (browser test)" in text and "Ended" in text
    assert re.search(r"true alerts\s+1", text) and re.search(r"engagements\s+1", text)
    shot("10-public-transparency")
    page.close()
