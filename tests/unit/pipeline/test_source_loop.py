"""`--loop`: a file camera starts again at its end, its media time running on (rehearsals)."""

from __future__ import annotations

import itertools
from pathlib import Path

from openlfr.pipeline.sources import PyAVSource, open_source
from tests.unit.pipeline.test_sources import tiny_video


def test_a_looping_file_starts_again_with_time_running_on(tmp_path: Path) -> None:
    video = tiny_video(tmp_path / "clip.mp4", n=10, fps=10)
    src = open_source(str(video), loop=True)
    assert isinstance(src, PyAVSource) and src.loop
    frames = list(itertools.islice(src.frames(), 25))  # two and a half passes
    src.close()
    assert [f.index for f in frames] == list(range(25))
    times = [f.media_s for f in frames]
    assert all(b > a for a, b in itertools.pairwise(times)), times
    assert abs(times[10] - 1.0) < 1e-6 and abs(times[20] - 2.0) < 1e-6
    assert src.passes == 2


def test_without_loop_a_file_ends_and_streams_never_loop(tmp_path: Path) -> None:
    video = tiny_video(tmp_path / "clip.mp4", n=10, fps=10)
    assert len(list(open_source(str(video)).frames())) == 10
    assert PyAVSource("rtsp://127.0.0.1:1/x", loop=True).loop is False
