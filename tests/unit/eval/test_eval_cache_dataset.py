"""The encrypted template cache, batch embedding with typed failures, and dataset scanning."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.errors import DatasetError
from openlfr.eval.cache import CacheEntry, TemplateCache, cache_namespace, embed_images
from openlfr.eval.dataset import (
    lfw_labels,
    parse_utkface_name,
    scan_any,
    scan_flat,
    scan_identity_folders,
    utkface_labels,
)
from openlfr.vision.mock import mock_engine


def _square(path: Path, bgr: tuple[int, int, int]) -> None:
    img = np.full((96, 96, 3), 128, np.uint8)
    img[24:72, 24:72] = bgr
    cv2.imwrite(str(path), img)


def test_cache_roundtrip_is_encrypted_and_key_is_private(tmp_path: Path) -> None:
    cache = TemplateCache(tmp_path, "ns-a")
    key = tmp_path / "templates.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    vec = np.arange(16, dtype=np.float32) / 16
    cache.put("ab" * 32, CacheEntry(vec))
    cache.put("cd" * 32, CacheEntry(None, "no_face", "no face found"))
    blobs = [p.read_bytes() for p in tmp_path.rglob("*.bin")]
    assert len(blobs) == 2 and all(vec.tobytes() not in b for b in blobs)
    got = TemplateCache(tmp_path, "ns-a").get("ab" * 32)
    assert got is not None and got.vector is not None and np.array_equal(got.vector, vec)
    fail = cache.get("cd" * 32)
    assert fail is not None and fail.vector is None and fail.error_code == "no_face"
    # Another namespace (model, detector) never sees the entry.
    assert TemplateCache(tmp_path, "ns-b").get("ab" * 32) is None


def test_two_writers_of_one_entry_never_collide(tmp_path: Path) -> None:
    """Two evaluations filling one cache at once (each writes the same images' entries) must not
    rename each other's half-written file: that crashed a report with FileNotFoundError."""
    from concurrent.futures import ThreadPoolExecutor

    TemplateCache(tmp_path, "ns")  # create the key once, as the first run does
    vec = np.arange(16, dtype=np.float32)

    def write(_: int) -> None:
        c = TemplateCache(tmp_path, "ns")
        for j in range(200):
            c.put(f"{j % 4:02x}" * 32, CacheEntry(vec))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    assert not list(tmp_path.rglob("*.tmp"))
    got = TemplateCache(tmp_path, "ns").get("00" * 32)
    assert got is not None and got.vector is not None and np.array_equal(got.vector, vec)


def test_tampered_entry_is_recomputed_and_loose_key_refused(tmp_path: Path) -> None:
    cache = TemplateCache(tmp_path, "ns")
    cache.put("ef" * 32, CacheEntry(np.ones(4, np.float32)))
    path = next(tmp_path.rglob("*.bin"))
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    assert cache.get("ef" * 32) is None
    os.chmod(tmp_path / "templates.key", 0o644)
    with pytest.raises(DatasetError, match="readable by others"):
        TemplateCache(tmp_path, "ns")


def test_embed_images_reports_typed_failures_and_uses_cache(tmp_path: Path) -> None:
    eng = mock_engine()
    _square(tmp_path / "a.png", (0, 0, 255))
    _square(tmp_path / "b.png", (255, 0, 0))
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((64, 64, 3), 128, np.uint8))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    paths = [tmp_path / n for n in ("a.png", "grey.png", "broken.jpg", "b.png", "missing.png")]
    cache = TemplateCache(tmp_path / "cache", cache_namespace(eng, "central"))
    first = embed_images(eng, paths, cache=cache, progress=False)
    assert first.ok.tolist() == [True, False, False, True, False]
    assert first.failure_counts() == {"no_face": 1, "image_decode_error": 2}
    assert all(f.path for f in first.failures)
    second = embed_images(eng, paths, cache=cache, progress=False)
    assert second.cache_hits == 4  # failures are cached too; the missing file is not
    assert np.array_equal(first.vectors, second.vectors)
    assert second.failure_counts() == first.failure_counts()


def test_scanning_and_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        scan_identity_folders(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        scan_identity_folders(tmp_path / "empty")
    with pytest.raises(DatasetError, match="no image files"):
        scan_flat(tmp_path / "empty")
    root = tmp_path / "ds"
    for ident, n in (("Ann", 2), ("Bob", 1)):
        (root / ident).mkdir(parents=True)
        for i in range(n):
            _square(root / ident / f"{ident}_{i + 1:04d}.jpg", (0, 0, 200))
    (root / "notes.txt").write_text("x")
    ds = scan_any(root)
    assert ds.summary() == {
        "images": 3,
        "identities": 2,
        "identities_with_2plus_images": 1,
        "identities_with_1_image": 1,
    }


def test_utkface_labels_and_malformed_names(tmp_path: Path) -> None:
    assert parse_utkface_name("26_1_2_20170116.jpg.chip.jpg") == {
        "age": "26",
        "gender": "female",
        "race": "Asian",
    }
    with pytest.raises(DatasetError):
        parse_utkface_name("photo.jpg")
    _square(tmp_path / "30_0_1_2017.jpg", (0, 0, 200))
    _square(tmp_path / "holiday.jpg", (0, 0, 200))
    lab = utkface_labels(scan_flat(tmp_path))
    assert lab.by_image["30_0_1_2017.jpg"]["race"] == "Black"
    assert len(lab.problems) == 1 and "holiday.jpg" in lab.problems[0]
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    _square(only_bad / "x.jpg", (0, 0, 200))
    with pytest.raises(DatasetError, match="UTKFace labels"):
        utkface_labels(scan_flat(only_bad))


def test_lfw_labels_match_or_refuse(tmp_path: Path) -> None:
    root = tmp_path / "lfw"
    for ident in ("Ann_Lee", "Bob_Ray"):
        (root / ident).mkdir(parents=True)
        _square(root / ident / f"{ident}_0001.jpg", (0, 0, 200))
    ds = scan_identity_folders(root)
    lab_dir = tmp_path / "labels"
    lab_dir.mkdir()
    (lab_dir / "female_names.txt").write_text("Ann_Lee_0001.jpg\nZed_0001.jpg\n")
    (lab_dir / "male_names.txt").write_text("")
    (lab_dir / "race.json").write_text(json.dumps({"Bob_Ray": "african"}))
    lab = lfw_labels([lab_dir], ds)
    assert lab.by_image["Ann_Lee_0001.jpg"] == {"gender": "female"}
    assert lab.by_image["Bob_Ray_0001.jpg"] == {"race": "african"}
    assert any("1 entries" in p for p in lab.problems)
    other = tmp_path / "other.txt"
    other.write_text("x")
    with pytest.raises(DatasetError, match="unknown labels file"):
        lfw_labels([other], ds)
    wrong = tmp_path / "male_names.txt"
    wrong.write_text("Someone_Else_0001.jpg\n")
    with pytest.raises(DatasetError, match="match none"):
        lfw_labels([wrong], ds)
    with pytest.raises(DatasetError, match="does not exist"):
        lfw_labels([tmp_path / "absent.txt"], ds)
