"""Issue 20 in a real (headless) Chromium: safe review, the alert card, every role's task.

One server and one browser for the module; what goes before go-live is set up through the
service (test_console_flow drives it through the pages on the real video), and alerts are
recorded as the pipeline records them, so the module takes seconds, not minutes.

- the operator receives an alert: the title and the live region change, a repeat of the same
  person folds into the card; Enter in the reason box records nothing; no outcome is
  preselected; Confirm (a button) records the decision and the card keeps who, when and why;
  opening the card twice writes one audit record;
- the officer drafts incomplete, completes the draft in the browser (model from the approved
  list), and authorises through a confirmation that says what will happen;
- ending with an unreviewed alert says how many;
- the administrator resets a password (shown once in a dialog) and deactivates a user;
- the auditor searches the audit log and exports it as CSV;
- the public page says who runs it, how to complain and ask for your data, when each deployment
  actually ran and its results in words, in English and Welsh;
- every page, at 1366 and 390 px, is screenshotted and passes axe-core (no serious or
  critical violation) and is no wider than the screen.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import pytest

from openlfr.api import create_app
from openlfr.config.governance import GovernanceSettings
from openlfr.errors import FaceError
from openlfr.services.alert_record import AlertIn
from openlfr.services.approvals import report_digest
from openlfr.services.governance import GovernanceService
from openlfr.storage.crypto import MasterKey
from openlfr.storage.db import make_engine, session_factory, upgrade
from openlfr.vision.engine import FaceEngine, build_engine, default_threshold
from openlfr.vision.imageio import load_image
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

pytestmark = [pytest.mark.browser, pytest.mark.data, pytest.mark.slow]
AXE = Path(
    os.environ.get("OPENLFR_AXE", ROOT / ".axe" / "node_modules" / "axe-core" / "axe.min.js")
)
CAMERA = "gate-1"
SIZES = {"1366": (1366, 900), "390": (390, 844)}
PEOPLE = {
    "ao1": "authorising_officer",
    "ao2": "authorising_officer",
    "compiler": "watchlist_compiler",
    "op1": "operator",
    "dpo": "auditor",
    "dpo2": "auditor",
    "spare": "operator",
}


class World:
    """The running console and what the tests need to reach behind it."""

    def __init__(self, base: str, svc: GovernanceService, dep: str, entries: list[str]) -> None:
        self.base, self.svc, self.dep, self.entries = base, svc, dep, entries
        self.probe = b""
        self.group_photo = b""  # two people side by side: the compiler picks one
        self.second_photo = Path()  # another photo of the right-hand person
        self.subject_photo = Path()  # a photo of the first listed person, who asks for data
        self.contract = ""
        self.threshold = 0.0

    def alert(self, entry: int = 0, score_gap: float = 0.12) -> str:
        """An alert as the live pipeline records it (past the privacy boundary)."""
        return self.svc.alerts.record_alert(
            self.dep,
            AlertIn(
                camera_id=CAMERA,
                entry_id=self.entries[entry],
                score=self.threshold + score_gap,
                threshold=self.threshold,
                contract_id=self.contract,
                detected_at=datetime.now(UTC),
                probe_jpeg=self.probe,
            ),
        )


def _two_photo_people(lfw_dir: Path, engine: FaceEngine, n: int) -> list[tuple[Path, Path]]:
    """`n` LFW people with two photos of one usable face each (enrolment photo, probe)."""
    out: list[tuple[Path, Path]] = []
    for person in sorted((lfw_dir / "images").iterdir()):
        photos = sorted(person.glob("*.jpg"))
        usable = []
        for p in photos[:3]:
            try:
                engine.face_from_file(p, select="strict")
                usable.append(p)
            except FaceError:
                continue
        if len(usable) >= 2:
            out.append((usable[0], usable[1]))
        if len(out) == n:
            return out
    raise AssertionError("not enough LFW people with two usable photos")


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, lfw_dir: Path, sface_engine: FaceEngine
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("console-roles")
    url = f"sqlite:///{tmp / 'console.sqlite3'}"
    upgrade(url)
    svc = GovernanceService(
        session_factory(make_engine(url)),
        settings=GovernanceSettings(
            public_controller="Heddlu De Cymru / South Wales Police",
            public_contact="lfr@south-wales.police.example, 101",
            public_languages=["en", "cy"],
        ),
        master_key=lambda: MasterKey(KEY),
        hasher=FAST_HASHER,
    )
    admin = svc.accounts.create_user(None, "admin", PASSWORD, ["administrator"])
    ppl = {n: svc.accounts.create_user(admin, n, PASSWORD, [r]) for n, r in PEOPLE.items()}
    settle_accounts(svc)  # own passwords, roles confirmed: each may be one of two people
    today = datetime.now(UTC).date()
    for n, r in PEOPLE.items():
        if r == "operator":  # only staff with current training review alerts
            svc.training.record(
                admin, n, "LFR operator", today - timedelta(days=30), today + timedelta(days=335)
            )
    c = sface_engine.contract
    t = default_threshold(c)
    now = datetime.now(UTC)
    approval = approval_for(c, floor=t - 0.05, at=now - timedelta(days=1))
    svc.approvals.record_model_approval(admin, approval)
    svc.approvals.countersign(ppl["ao2"], c.id, report_digest(approval))
    dep = svc.deployments.create_deployment(
        ppl["ao1"],
        "Station gate (browser test)",
        purpose="locate_missing_or_vulnerable",
        location="Central station, north gate",
        cameras=[CAMERA],
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=2),
        dpia_ref="DPIA-G",
        policy_ref="APD-G",
        eia_ref="EIA-G",
        necessity="Missing vulnerable person last seen at the station.",
        alternatives="Patrols considered; too slow for the crowd.",
        model_contract_id=c.id,
        threshold=t,
        expected_faces=5000,
        public_notice_at=now - timedelta(days=2),
        compiler="compiler",
        operators=["op1"],
        officers=["ao2"],
    )
    svc.deployments.authorise(ppl["ao1"], dep)
    pairs = _two_photo_people(lfw_dir, sface_engine, 4)
    entries = []
    for i, (enrol, _) in enumerate(pairs[:2]):
        eid, _ = svc.watchlists.add_entry_from_photo(
            ppl["compiler"],
            dep,
            sface_engine,
            enrol.read_bytes(),
            category="missing_or_vulnerable",
            legal_basis=f"Missing person report {i + 7}",
            source_system="Custody",
            image_captured_on=now.date() - timedelta(days=30),
            reason="reported missing, at risk",
            subject_ref=f"MISPER-{i + 7}",
        )
        entries.append(eid)
    svc.watchlists.sign_off(ppl["ao2"], dep)
    svc.deployments.start(ppl["op1"], dep)  # no camera: alerts are recorded by the test
    app = create_app(svc, engine_factory=build_engine, retention=False)
    found = sface_engine.best_face_crop(load_image(pairs[0][1]), min_width=20)
    assert found is not None
    ok, buf = cv2.imencode(".jpg", found[1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    with running_server(app) as base:
        w = World(base, svc, dep, entries)
        w.probe, w.contract, w.threshold = bytes(buf.tobytes()), c.id, t
        w.group_photo = _side_by_side(sface_engine, pairs[2][0], pairs[3][0])
        w.second_photo = pairs[3][1]
        w.subject_photo = pairs[0][1]
        yield w


def _side_by_side(engine: FaceEngine, left: Path, right: Path) -> bytes:
    """A photo of two people: each LFW face cropped (so no one else is in it), side by side."""
    crops = []
    for p in (left, right):
        found = engine.best_face_crop(load_image(p), min_width=20, margin=0.5)
        assert found is not None
        crops.append(cv2.resize(found[1], (200, 200)))
    ok, buf = cv2.imencode(".jpg", cv2.hconcat(crops), [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return bytes(buf.tobytes())


@pytest.fixture(scope="module")
def shots(browser: Any, artifacts: Path) -> Iterator[Any]:
    if not AXE.exists():
        msg = f"axe-core not found at {AXE} (npm install --prefix .axe axe-core)"
        if REQUIRE_BROWSER:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    yield page
    ctx.close()


def _login(page: Any, base: str, user: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def _axe(page: Any) -> list[dict[str, Any]]:
    # Injected through Playwright (CDP), not as a page script: the console's CSP stays strict.
    page.evaluate(AXE.read_text())
    res = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in res["violations"] if v["impact"] in ("serious", "critical")]


def _look(page: Any, artifacts: Path, name: str) -> None:
    """Screenshot `page` at both widths and check it with axe-core at each."""
    for label, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_timeout(50)
        page.screenshot(path=str(artifacts / f"r-{name}-{label}.png"), full_page=True)
        bad = _axe(page)
        if bad:
            (artifacts / f"r-{name}-{label}-axe.json").write_text(json.dumps(bad, indent=2))
        assert not bad, (name, label, [(v["id"], v["impact"], v["help"]) for v in bad])
        # Readable on a phone: nothing wider than the screen but the scrollable tables.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} at {label} px is {overflow} px wider than the screen"
    page.set_viewport_size({"width": 1366, "height": 900})


def _wait(cond: Any, what: str, timeout: float = 15) -> None:
    # Polled from here: wait_for_function evaluates a string, which the CSP rightly refuses.
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _confirm(page: Any, expect: str) -> str:
    """Accept the confirmation dialog, after checking it says `expect`; its text."""
    dlg = page.locator("#confirm-dialog")
    dlg.wait_for(state="visible")
    text = str(page.inner_text("#confirm-text"))
    assert expect in text, text
    page.click("#confirm-yes")
    return text


def _views(w: World, user: str) -> int:
    return sum(
        1
        for r in w.svc.audit.search(actor=user, action="alert.view")
        if r["subject"].startswith("alert:")
    )


def test_operator_reviews_an_alert_safely(world: World, shots: Any, artifacts: Path) -> None:
    page, w = shots, world
    _login(page, w.base, "op1")
    page.goto(f"{w.base}/operator")
    page.wait_for_selector("#stream-status:has-text('connected')")
    title0 = page.title()
    assert not title0.startswith("(")
    first = w.alert(0)
    card = page.locator(f"#alert-{first}")
    card.wait_for()
    assert card.locator(".a-repeats").is_hidden()  # one sighting: no repeat badge
    # The alert calls for attention: the title counts it, the live region says it.
    _wait(lambda: page.title().startswith("(1) "), f"title did not count: {page.title()}")
    _wait(lambda: "New alert" in page.inner_text("#announcer"), "the live region stayed quiet")
    assert page.get_attribute("#announcer", "aria-live") == "assertive"
    assert "1 awaiting review" in page.inner_text("#pending-count")
    # The same person again within the pass folds into the same card.
    w.alert(0)
    _wait(lambda: "seen 2 times" in card.locator(".a-repeats").inner_text(), "no fold")
    assert page.locator("article.alert").count() == 1
    loaded = "img => img.complete && img.naturalWidth > 0"
    _wait(
        lambda: all(card.locator(s).evaluate(loaded) for s in (".a-probe", ".a-ref")),
        "the faces did not load",
    )
    assert card.locator(".a-subject").inner_text() == "MISPER-7"
    assert card.locator(".a-category").inner_text() == "Missing or vulnerable"
    assert "welfare" in card.locator(".a-action").inner_text()
    assert card.locator(".a-location").inner_text() == "Central station, north gate"
    assert "clearly above the threshold" in card.locator(".a-band").inner_text()
    _wait(lambda: "s ago" in card.locator(".a-ago").inner_text(), "no age")
    # The watchlist face is cropped to the face: square, not the whole portrait.
    size = card.locator(".a-ref").evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size[0] < 250 and abs(size[0] - size[1]) < 0.3 * size[0], size

    # The entry's other photos come on demand.
    card.locator("button.a-more").click()
    others = card.locator(".a-others img.other-photo")
    others.first.wait_for()
    _wait(lambda: others.first.evaluate(loaded), "the other photos did not load")
    card.locator("button.a-more").click()
    assert card.locator(".a-others").is_hidden()

    # Enter in the reason box records nothing.
    reason = card.locator("textarea[name=reason]")
    reason.fill("=same face, scar above left eye")
    reason.press("Enter")
    page.wait_for_timeout(600)
    assert card.get_attribute("data-status") == "pending"
    ops = w.svc.accounts.actor("op1")
    assert all(not a["reviews"] for a in w.svc.alerts.alerts(ops, w.dep))
    # At 390 px the faces sit side by side and the decision buttons are on the first screen.
    page.set_viewport_size({"width": 390, "height": 844})
    card.scroll_into_view_if_needed()
    p, r = card.locator(".a-probe").bounding_box(), card.locator(".a-ref").bounding_box()
    assert abs(p["y"] - r["y"]) < 2 and p["x"] + p["width"] <= r["x"] and p["width"] > 140
    top = card.bounding_box()["y"]
    assert card.locator("button.confirm").bounding_box()["y"] - top < 844 - 60
    page.set_viewport_size({"width": 1366, "height": 900})
    _look(page, artifacts, "operator-alert-pending")

    # The decision is the button; the card keeps who, when and why.
    card.locator("button.confirm").click()
    _wait(lambda: card.get_attribute("data-status") == "confirmed", "not confirmed")
    decided = card.locator(".a-reviews").inner_text()
    assert "by op1" in decided and "scar above left eye" in decided
    assert page.title() == title0
    got = w.svc.alerts.alerts(ops, w.dep)
    assert len(got) == 2 and all(a["status"] == "confirmed" for a in got)  # the pass, once
    # No outcome is preselected; recording one needs a choice.
    sel = card.locator("select[name=result]")
    assert sel.input_value() == ""
    card.locator("button.record-outcome").click()
    assert "Choose the result" in card.locator("form.outcome .form-error").inner_text()
    sel.select_option("condition_check")
    card.locator("button.record-outcome").click()
    card.locator(".outcome-recorded").wait_for()
    _look(page, artifacts, "operator-alert-decided")

    # A reload shows the same decision; opening the card again writes no second view record.
    views = _views(w, "op1")
    assert views == 1  # one for the card (the pass), not one per look
    page.reload()
    card = page.locator(f"#alert-{first}")
    card.wait_for()
    _wait(lambda: "by op1" in card.locator(".a-reviews").inner_text(), "decision lost on reload")
    assert "Condition check" in card.inner_text()
    page.wait_for_timeout(500)
    assert _views(w, "op1") == views


def test_focus_moves_to_the_next_card(world: World, shots: Any) -> None:
    page, w = shots, world
    _login(page, w.base, "op1")
    page.goto(f"{w.base}/operator")
    page.wait_for_selector("#stream-status:has-text('connected')")
    a, b = w.alert(0, 0.03), w.alert(1, 0.2)
    # A pass later than the first test's: alert `a` starts a new card only if outside it; the
    # second entry's alert always does.
    page.locator(f"#alert-{b}").wait_for()
    cb = page.locator(f"#alert-{b}")
    cb.locator("textarea[name=reason]").fill("different nose and jaw")
    cb.locator("button.reject").click()
    _wait(lambda: cb.get_attribute("data-status") == "rejected", "not rejected")
    focused = page.evaluate("document.activeElement.closest('article.alert')?.dataset.status")
    assert focused == "pending"  # on to the next card awaiting review
    del a


def test_officer_drafts_completes_and_authorises(world: World, shots: Any, artifacts: Path) -> None:
    page, w = shots, world
    _login(page, w.base, "ao1")
    page.goto(f"{w.base}/deployments")
    page.fill("#draft-form [name=name]", "Market square (browser test)")
    page.select_option("#draft-form [name=purpose]", "locate_wanted_persons")
    with page.expect_navigation():
        page.click("#draft-form button[type=submit]")
    assert page.locator("#missing li").count() > 5
    now = datetime.now(UTC)
    local = lambda d: d.astimezone().strftime("%Y-%m-%dT%H:%M")  # noqa: E731
    f = "#edit-draft-form"
    assert page.locator("#edit-draft").get_attribute("open") is not None
    for name, value in {
        "location": "Market square",
        "cameras": "sq-1, sq-2",
        "starts_at": local(now + timedelta(hours=1)),
        "ends_at": local(now + timedelta(hours=4)),
        "dpia_ref": "DPIA-M",
        "policy_ref": "APD-M",
        "eia_ref": "EIA-M",
        "threshold": str(round(w.threshold, 2) + 0.01),
        "expected_faces": "20000",
        "public_notice_at": local(now - timedelta(days=1)),
        "operators": "op1",
        "officers": "ao2",
        "necessity": "Wanted for robbery; seen at the market weekly.",
        "alternatives": "Patrols tried for a month.",
    }.items():
        page.fill(f"{f} [name={name}]", value)
    # The model is chosen from the approved ones, not typed.
    opts = page.locator(f"{f} [name=model_contract_id] option").all_inner_texts()
    assert w.contract in opts
    page.select_option(f"{f} [name=model_contract_id]", w.contract)
    page.select_option(f"{f} [name=compiler]", "compiler")
    with page.expect_navigation():
        page.click(f"{f} button[type=submit]")
    page.wait_for_selector("#ready-ok")
    _look(page, artifacts, "officer-ready")
    # Authorise asks first and says what will happen; Cancel leaves it a draft.
    page.click("#authorise")
    page.locator("#confirm-dialog").wait_for(state="visible")
    assert "Market square" in page.inner_text("#confirm-text")
    page.screenshot(path=str(artifacts / "r-officer-authorise-dialog-1366.png"))
    bad = _axe(page)  # the dialog too
    assert not bad, [(v["id"], v["impact"], v["help"]) for v in bad]
    page.click("#confirm-cancel")
    assert "Draft" in page.inner_text("#dep-state")
    page.click("#authorise")
    _confirm(page, "on your name")
    page.wait_for_selector("#dep-state:has-text('Authorised')")


def test_compiler_picks_a_face_and_adds_a_second_photo(
    world: World, shots: Any, artifacts: Path, tmp_path: Path
) -> None:
    page, w = shots, world
    dep = next(
        d["id"] for d in w.svc.deployments.deployments() if d["name"].startswith("Market square")
    )
    _login(page, w.base, "compiler")
    page.goto(f"{w.base}/deployments/{dep}")
    group = tmp_path / "two-people.jpg"
    group.write_bytes(w.group_photo)
    f = "#entry-form"
    page.set_input_files(f"{f} [name=photo]", str(group))
    page.locator("#face-picker").wait_for(state="visible")
    choices = page.locator("#face-picker input[name=face]")
    assert choices.count() == 2
    page.select_option(f"{f} [name=category]", "wanted_by_courts_or_police")
    page.fill(f"{f} [name=legal_basis]", "Warrant 2026/114")
    page.fill(f"{f} [name=source_system]", "Custody")
    page.fill(f"{f} [name=image_captured_on]", "2025-06-01")
    page.fill(f"{f} [name=subject_ref]", "WANTED-114")
    page.fill(f"{f} [name=reason]", "named in the warrant")
    # Without a pick the browser refuses to send; with it, the right-hand face is enrolled.
    page.click(f"{f} button[type=submit]")
    assert page.locator("#watchlist tr[data-entry]").count() == 0
    _look(page, artifacts, "compiler-face-picker")
    choices.nth(1).check()
    with page.expect_navigation():
        page.click(f"{f} button[type=submit]")
    rows = page.locator("#watchlist tr[data-entry]")
    assert rows.count() == 1
    # The second photo (another occasion) of the same person matches the picked face.
    rows.nth(0).locator("form.add-photo [name=photo]").set_input_files(str(w.second_photo))
    rows.nth(0).locator("form.add-photo [name=image_captured_on]").fill("2024-03-01")
    with page.expect_navigation():
        rows.nth(0).locator("form.add-photo button[type=submit]").click()
    row = page.locator("#watchlist tr[data-entry]").nth(0)
    assert row.locator("td.photos").inner_text() == "2"
    assert "unlike other photos" not in row.inner_text().lower()  # the picked face: same person
    _look(page, artifacts, "compiler-deployment")
    # Removing an entry asks first; Cancel keeps it, Remove deletes it.
    row.locator("details.remove-entry summary").click()
    row.locator("details.remove-entry [name=reason]").fill("warrant withdrawn")
    row.locator("details.remove-entry button[type=submit]").click()
    page.locator("#confirm-dialog").wait_for(state="visible")
    page.click("#confirm-cancel")
    assert page.locator("#watchlist tr[data-entry]").count() == 1
    row.locator("details.remove-entry button[type=submit]").click()
    with page.expect_navigation():
        _confirm(page, "deleted from this watchlist")
    assert page.locator("#watchlist tr[data-entry]").count() == 0


def test_reviewer_sees_photos_and_the_end_counts_unreviewed(
    world: World, shots: Any, artifacts: Path
) -> None:
    page, w = shots, world
    # The second officer's view of the signed-off list: each entry's photo, basis and reason.
    _login(page, w.base, "ao2")
    page.goto(f"{w.base}/deployments/{w.dep}")
    rows = page.locator("#watchlist tr[data-entry]")
    assert rows.count() == 2
    assert "Missing person report 7" in rows.nth(0).locator("td.basis").inner_text()
    thumb = rows.nth(0).locator("img.thumb")
    _wait(lambda: thumb.evaluate("i => i.complete && i.naturalWidth > 0"), "no entry photo")
    _look(page, artifacts, "reviewer-deployment")
    # Ending with an alert unreviewed says so, and Cancel ends nothing.
    w.alert(1)
    _login(page, w.base, "op1")
    page.goto(f"{w.base}/deployments/{w.dep}")
    assert page.locator("#no-camera-warning").count() == 1
    page.click("#end")
    page.locator("#confirm-dialog").wait_for(state="visible")
    text = page.inner_text("#confirm-text")
    assert re.search(r"\b[1-9]\d* alerts? (is|are) still unreviewed", text), text
    page.screenshot(path=str(artifacts / "r-operator-end-dialog-1366.png"))
    page.click("#confirm-cancel")
    assert "Live" in page.inner_text("#dep-state")
    _look(page, artifacts, "operator-deployment")


def test_admin_resets_and_deactivates(world: World, shots: Any, artifacts: Path) -> None:
    page, w = shots, world
    _login(page, w.base, "admin")
    page.goto(f"{w.base}/admin")
    row = page.locator("tr[data-user=spare]")
    row.locator("summary").click()
    _look(page, artifacts, "admin-users")
    row.locator("button.reset").click()
    _confirm(page, "sessions end")
    page.locator("#secret-dialog").wait_for(state="visible")
    password = page.inner_text("#secret-one_time_password").strip()
    assert len(password) >= 12 and "{" not in page.inner_text("#secret-dialog")
    page.screenshot(path=str(artifacts / "r-admin-secret-dialog-1366.png"))
    with page.expect_navigation():
        page.click("#secret-ok")
    row = page.locator("tr[data-user=spare]")
    row.locator("summary").click()
    row.locator(".deactivate-form [name=reason]").fill("left the unit")
    row.locator(".deactivate-form button[type=submit]").click()
    with page.expect_navigation():
        _confirm(page, "can no longer log in")
    assert page.locator("tr[data-user=spare] .u-active").inner_text() == "Deactivated"
    assert any(u["username"] == "spare" and not u["active"] for u in w.svc.accounts.users())
    # Workers: a token is issued (shown once, in the dialog) and the worker revoked.
    page.goto(f"{w.base}/workers")
    page.fill("#new-worker-form [name=name]", "edge-7")
    page.click("#new-worker-form button[type=submit]")
    page.locator("#secret-dialog").wait_for(state="visible")
    assert len(page.inner_text("#secret-token").strip()) >= 20
    with page.expect_navigation():
        page.click("#secret-ok")
    form = page.locator(".revoke-form[data-worker=edge-7]")
    form.locator("[name=reason]").fill("stolen van")
    form.locator("button[type=submit]").click()
    with page.expect_navigation():
        _confirm(page, "token stops working")
    assert page.locator(".revoke-form[data-worker=edge-7]").count() == 0
    _look(page, artifacts, "admin-workers")


def test_auditor_searches_and_exports(world: World, shots: Any, artifacts: Path) -> None:
    page, w = shots, world
    _login(page, w.base, "dpo")
    page.goto(f"{w.base}/audit")
    page.select_option("#audit-search [name=actor]", "op1")
    page.select_option("#audit-search [name=action]", "alert.review")
    page.select_option("#audit-search [name=deployment]", w.dep)
    with page.expect_navigation():
        page.click("#audit-search button[type=submit]")
    rows = page.locator("#audit-records tbody tr")
    assert rows.count() >= 2
    for t in rows.all_inner_texts():
        assert "op1" in t and "review" in t.lower(), t
    # Times are local and words, not ids: no microseconds, no raw subject prefix.
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", page.inner_text("#audit-records"))
    _look(page, artifacts, "auditor-audit")
    r = page.request.get(page.get_attribute("#audit-csv", "href").join([w.base, ""]))
    assert r.ok and r.headers["content-type"].startswith("text/csv")
    got = list(csv.reader(io.StringIO(r.text())))
    assert got[0][:5] == ["#", "time", "person", "action", "subject"]
    assert len(got) - 1 == rows.count()
    for line in got[1:]:
        assert line[2] == "op1" and not line[5].startswith(("=", "+", "-", "@"))

    # Subject access in words, and erasure in two steps by two auditors.
    page.goto(f"{w.base}/audit")
    page.set_input_files("#sar-form [name=photo]", str(w.subject_photo))
    page.click("#sar-form button[type=submit]")
    page.locator("#sar-result").wait_for(state="visible")
    assert "found about this person" in page.inner_text("#sar-summary")
    hits = page.locator("#sar-hits tbody tr")
    assert hits.count() >= 1 and "Station gate" in page.inner_text("#sar-hits")
    assert "{" not in page.inner_text("#sar-result")  # words, not raw JSON
    assert "Missing or vulnerable" in page.inner_text("#sar-hits")  # labels, not enum values
    ticks = page.locator("input.erase-hit")
    for i in range(1, ticks.count()):
        ticks.nth(i).uncheck()  # erase one record only
    page.fill("#erase-form [name=reason]", "data subject's request, ref SAR-9")
    _look(page, artifacts, "auditor-subject-access")
    page.click("#erase-form button[type=submit]")
    with page.expect_navigation():
        _confirm(page, "second auditor approves")
    req = page.locator(".erase-request").first
    assert "another auditor must approve" in req.inner_text()
    _login(page, w.base, "dpo2")
    page.goto(f"{w.base}/audit")
    page.locator(".erase-request button.approve-erase").first.click()
    with page.expect_navigation():
        _confirm(page, "cannot be recovered")
    assert page.locator(".erase-request").count() == 0
    assert page.locator("#receipts tbody tr").count() >= 1


def test_every_other_page_at_both_widths(world: World, shots: Any, artifacts: Path) -> None:
    page, w = shots, world
    page.context.clear_cookies()
    page.goto(f"{w.base}/login")
    _look(page, artifacts, "login")
    for user, pages in {
        "ao1": ["/deployments"],
        "compiler": [f"/deployments/{w.dep}"],
        "admin": ["/account"],
    }.items():
        _login(page, w.base, user)
        for path in pages:
            page.goto(f"{w.base}{path}")
            _look(page, artifacts, f"{user}-{path.strip('/').split('/')[0]}")
    # Cancelling a draft asks first and says it cannot be undone.
    pier = w.svc.deployments.create_deployment(w.svc.accounts.actor("ao1"), "Pier (to cancel)")
    _login(page, w.base, "ao1")
    page.goto(f"{w.base}/deployments/{pier}")
    page.click("#cancel-deployment summary")
    page.fill("#cancel-deployment [name=reason]", "event called off")
    page.click("#cancel-deployment button[type=submit]")
    with page.expect_navigation():
        _confirm(page, "never go live")
    assert "Cancelled" in page.inner_text("#dep-state")
    # A page of another role: refused in words (403), and accessible too.
    _login(page, w.base, "compiler")
    r = page.goto(f"{w.base}/admin")
    assert r is not None and r.status == 403 and "needs one of the roles" in page.inner_text("main")
    _look(page, artifacts, "compiler-forbidden")
    page.goto(f"{w.base}/account")
    # The skip link is the first thing the keyboard reaches, and it moves focus to the page.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_public_page_for_the_public(world: World, shots: Any, artifacts: Path) -> None:
    page, w = shots, world
    _login(page, w.base, "op1")
    page.goto(f"{w.base}/deployments/{w.dep}")
    page.click("#end")
    _confirm(page, "cannot be restarted")
    page.wait_for_selector("#dep-state:has-text('Ended')")
    page.context.clear_cookies()
    page.goto(f"{w.base}/transparency")
    assert page.get_attribute("html", "lang") == "en"
    assert "South Wales Police" in page.inner_text("#who-body")
    assert "101" in page.inner_text("#who-body")
    assert "Independent Office for Police Conduct" in page.inner_text("#complain-body")
    assert "lfr@south-wales.police.example" in page.inner_text("#data-body")
    rec = page.locator(f"#pub-{w.dep}")
    ran = rec.locator(".ran").inner_text()
    assert "→" in ran and "running" not in ran, ran  # when it actually ran, start to end
    words = rec.locator(".results-words").inner_text()
    assert re.search(r"The system raised \d+ alerts: officers confirmed \d+", words), words
    assert "locate_" not in rec.inner_text()  # labels, not enum values
    _look(page, artifacts, "public")
    page.click("#lang-cy")
    page.wait_for_url(re.compile(r"lang=cy"))
    assert page.get_attribute("html", "lang") == "cy"
    assert "Sut i gwyno" in page.inner_text("#public-intro")
    assert "Cododd y system" in rec.locator(".results-words").inner_text()
    assert "Dod o hyd i bobl sydd ar goll" in rec.inner_text()  # the purpose in Welsh too
    assert re.search(r"(Llun|Maw|Mer|Iau|Gwe|Sad|Sul) \d+ \w+ 20\d\d", rec.inner_text())
    _look(page, artifacts, "public-cy")
