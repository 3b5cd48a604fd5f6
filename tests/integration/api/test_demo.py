"""`openlfr demo`'s world on the real engine: the astronaut scene raises an alert that the
operator can adjudicate (no shared data needed: the portrait ships with scikit-image)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from openlfr.api import create_app
from openlfr.api.demo import CAMERA, AstronautScene, instructions, prepare, subject_from_video
from openlfr.api.server import bootstrap
from openlfr.config.settings import Settings
from openlfr.vision.engine import build_engine
from tests.unit.api._support import wait_for


def test_demo_world_raises_an_alert(tmp_path: Path, monkeypatch: object) -> None:
    import os

    os.environ.pop("OPENLFR_MASTER_KEY", None)
    b = bootstrap(Settings(data_dir=tmp_path, database_url=None, key_dir=tmp_path / "keys"))
    assert b.admin_password and b.key_created and b.key_file.is_file()
    assert (
        bootstrap(Settings(data_dir=tmp_path, key_dir=tmp_path / "keys")).admin_password is None
    )  # printed once only
    engine = build_engine()
    world = prepare(b.service, b.admin_password, engine)
    text = instructions("http://127.0.0.1:8000", world, tmp_path)
    assert world.passwords["operator"] in text and "Start deployment" in text
    # The threshold is the packaged evaluation's floor for the demo's list, and says what bound it.
    assert "bound by the packaged evaluation's floor" in text, text
    scene = lambda: AstronautScene(loops=2, period_s=6.0, visible_s=4.0, realtime=False)  # noqa: E731
    app = create_app(
        b.service, engine_factory=build_engine, sources={CAMERA: scene}, retention=False
    )
    with TestClient(app) as c:
        r = c.post(
            "/api/v1/auth/token",
            json={"username": "operator", "password": world.passwords["operator"]},
        )
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        dep = world.deployment_id
        assert c.post(f"/api/v1/deployments/{dep}/start", headers=h).status_code == 200
        alerts = wait_for(
            lambda: c.get(f"/api/v1/deployments/{dep}/alerts", headers=h).json(), timeout=120
        )
        a = alerts[0]
        assert a["score"] >= a["threshold"] and a["camera"] == CAMERA
        r = c.post(
            f"/api/v1/alerts/{a['id']}/review",
            json={"decision": "confirm", "reason": "astronaut"},
            headers=h,
        )
        assert r.json()["status"] == "confirmed"
        c.post(f"/api/v1/deployments/{dep}/end", headers=h)


def test_demo_subject_from_the_video(video_path: Path) -> None:
    """`openlfr demo --video` (what scripts/demo uses when ../shared is there) enrols one face."""
    from openlfr.vision.imageio import ImageLimits, decode_image

    engine = build_engine()
    jpeg = subject_from_video(engine, str(video_path))
    img = decode_image(jpeg, limits=ImageLimits(), label="subject")
    assert engine.face_from_image(img, select="largest").quality.score > 0.3
