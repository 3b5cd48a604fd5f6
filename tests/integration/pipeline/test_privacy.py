"""The non-match rule: after a run that matches nobody, no byte written anywhere is biometric."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openlfr.matching import Watchlist
from openlfr.pipeline import JsonlAlertSink, Pipeline, PipelineConfig, PyAVSource
from openlfr.vision.engine import FaceEngine

from .conftest import write_subject

pytestmark = pytest.mark.data

IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"/9j/", b"iVBOR")


def _lfw_watchlist_dir(lfw_dir: Path, root: Path, n: int = 3) -> Path:
    import cv2

    people = [p for p in sorted((lfw_dir / "images").iterdir()) if p.name.startswith("Z")][:n]
    for p in people:
        write_subject(root, p.name, cv2.imread(str(min(p.glob("*.jpg")))))
    return root


def _needles(vectors: list[np.ndarray], chips: list[np.ndarray]) -> list[bytes]:
    out: list[bytes] = []
    for v in vectors:
        f32 = np.ascontiguousarray(v, dtype=np.float32).tobytes()
        out += [f32[:64], np.asarray(v, np.float64).tobytes()[:64], base64.b64encode(f32[:48])]
        out.append(", ".join(f"{x:.4f}" for x in v[:3]).encode())
        out.append(np.array2string(v[:3], precision=4).strip("[]").encode())
    for c in chips:
        row = np.ascontiguousarray(c[c.shape[0] // 2]).tobytes()
        out += [row[:96], base64.b64encode(row[:96])]
    return out


def test_no_file_or_log_line_holds_a_face_or_embedding_of_a_non_match(
    tmp_path: Path,
    lfw_dir: Path,
    video_path: Path,
    sface_engine: FaceEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wl, issues = Watchlist.from_folder(
        _lfw_watchlist_dir(lfw_dir, tmp_path / "watchlist"), sface_engine
    )
    assert len(wl) >= 2
    vectors: list[np.ndarray] = []
    chips: list[np.ndarray] = []
    real_embed, real_align = sface_engine.embed_chips, sface_engine.align

    def spy_embed(cs):  # type: ignore[no-untyped-def]
        out = real_embed(cs)
        vectors.extend(np.array(v) for v in out)
        return out

    def spy_align(img, dets):  # type: ignore[no-untyped-def]
        out = real_align(img, dets)
        chips.extend(np.array(c) for c in out)
        return out

    out_dir = tmp_path / "run"
    out_dir.mkdir()
    sink = JsonlAlertSink(out_dir / "alerts.jsonl", images="base64")
    sface_engine.embed_chips, sface_engine.align = spy_embed, spy_align  # type: ignore[method-assign]
    caplog.set_level(logging.DEBUG)
    try:
        s = Pipeline(sface_engine, wl, sink, PipelineConfig()).run(PyAVSource(str(video_path)))
    finally:
        del sface_engine.embed_chips, sface_engine.align
    assert s.counters.alerts == 0 and s.counters.embeddings == len(vectors) > 10 and chips
    written = [p for p in out_dir.rglob("*") if p.is_file()]
    blobs = [p.read_bytes() for p in written]
    blobs.append("\n".join(r.getMessage() for r in caplog.records).encode())
    blobs.append(json.dumps(s.to_dict()).encode())
    needles = _needles(vectors, chips)
    for blob in blobs:
        for magic in IMAGE_MAGIC:
            assert magic not in blob
        for n in needles:
            assert n not in blob
    assert written == []  # nothing matched, so the sink wrote nothing at all


def test_cli_watch_json_summary_and_no_trace(
    tmp_path: Path, lfw_dir: Path, video_path: Path
) -> None:
    wl_dir = _lfw_watchlist_dir(lfw_dir, tmp_path / "watchlist")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "openlfr.cli.main",
            "-v",
            "watch",
            "--source",
            str(video_path),
            "--watchlist",
            str(wl_dir),
            "--alerts-out",
            str(run_dir / "alerts.jsonl"),
            "--json",
            "--max-frames",
            "50",
        ],
        capture_output=True,
        cwd=run_dir,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    summary = json.loads(r.stdout.decode().strip().splitlines()[-1])
    for key in (
        "frames",
        "frames_processed",
        "faces_detected",
        "tracks",
        "embeddings",
        "alerts",
        "dropped_frames",
        "wall_s",
        "media_s",
        "realtime_factor",
        "alert_latency_p50_ms",
        "alert_latency_p95_ms",
    ):
        assert key in summary
    assert (
        summary["frames_processed"] == 50
        and summary["alerts"] == 0
        and summary["faces_detected"] > 0
    )
    for blob in (r.stdout, r.stderr):
        for magic in IMAGE_MAGIC:
            assert magic not in blob
    assert [p for p in run_dir.rglob("*")] == []
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("*.jpg"))


def test_cli_watch_reports_a_source_that_never_opens(tmp_path: Path, lfw_dir: Path) -> None:
    wl_dir = _lfw_watchlist_dir(lfw_dir, tmp_path / "watchlist", n=1)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "openlfr.cli.main",
            "watch",
            "--source",
            str(tmp_path / "missing.mp4"),
            "--watchlist",
            str(wl_dir),
        ],
        capture_output=True,
        timeout=300,
    )
    assert r.returncode == 2 and b"missing.mp4" in r.stderr and b"not a camera index" in r.stderr
