"""B.6 end to end with the real quality gate: real LFW faces through the API and the SFace
engine; a shrunk or blurred copy of the same photo is refused with a clear 4xx and nothing of
it is stored (the gate is on: default settings)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest
from fastapi.testclient import TestClient

from openlfr.api import create_app
from openlfr.vision.engine import FaceEngine
from tests.unit.api._support import MOCK_PIPELINE, draft_fields, entry_form, token, world
from tests.unit.governance._support import World, approval_for, approve_model


def jpeg(img: Any) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return bytes(buf.tobytes())


@pytest.fixture
def lfw_photo(lfw_dir: Path) -> Any:
    person = sorted((lfw_dir / "images").iterdir())[0]  # AJ_Cook: one frontal face
    img = cv2.imread(str(min(person.glob("*.jpg"))))
    assert img is not None
    return img


@pytest.fixture
def api(tmp_path: Path, sface_engine: FaceEngine) -> Iterator[tuple[World, TestClient]]:
    w = world(tmp_path)  # default GovernanceSettings: the B.6 gate is on
    approve_model(w, approval_for(sface_engine.contract))
    app = create_app(
        w.svc,
        engine_factory=lambda: sface_engine,
        pipeline_config=MOCK_PIPELINE,
        retention=False,
        sources={},
    )
    with TestClient(app) as c:
        yield w, c


def test_small_or_blurred_real_face_is_refused_and_nothing_stored(
    api: tuple[World, TestClient], lfw_photo: Any, sface_engine: FaceEngine
) -> None:
    w, c = api
    ao1, comp = token(c, "ao1"), token(c, "compiler")
    body = {"name": "B6", **draft_fields(model_contract_id=sface_engine.contract.id)}
    dep = c.post("/api/v1/deployments", json=body, headers=ao1).json()["id"]
    assert c.post(f"/api/v1/deployments/{dep}/authorise", headers=ao1).status_code == 200
    url = f"/api/v1/deployments/{dep}/watchlist"

    def enrol(data: bytes, ref: str) -> Any:
        return c.post(
            url,
            headers=comp,
            files={"photo": ("p.jpg", data, "image/jpeg")},
            data=entry_form(subject_ref=ref),
        )

    audit_before = w.svc.audit.audit_count()
    small = cv2.resize(lfw_photo, (80, 80), interpolation=cv2.INTER_AREA)
    r = enrol(jpeg(small), "PND/SMALL")
    assert r.status_code == 409, r.text
    assert "px wide, below the minimum 60 px" in r.text
    blurred = cv2.GaussianBlur(lfw_photo, (0, 0), 6)
    r = enrol(jpeg(blurred), "PND/BLUR")
    assert r.status_code == 409, r.text
    assert "the face is blurred" in r.text
    # Nothing stored: no entry, no audit record, no trace of the refused subjects' references.
    assert c.get(url, headers=comp).json() == []
    assert w.svc.audit.audit_count() == audit_before
    with w.svc.ctx.factory() as s:
        from sqlalchemy import text

        assert s.execute(text("select count(*) from watchlist_entries")).scalar_one() == 0
    # The same photo, unspoilt, is accepted: the gate refuses the copy, not the person.
    r = enrol(jpeg(lfw_photo), "PND/GOOD")
    assert r.status_code == 201, r.text
    assert len(c.get(url, headers=comp).json()) == 1
