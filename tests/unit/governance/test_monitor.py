"""Item 12.2: the false-alert monitor pauses when the street is worse than the lab, not before.

Simulation: faces pass one by one; each is a false alert with probability p (reviewed by the
operator as a rejection), and a few are true alerts (confirmations, which never move the bound).
"""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.governance.monitor import (
    Monitor,
    MonitorState,
    OfficerChoice,
    critical_false_alerts,
    expected_rate,
    faces_to_pause,
    predicted_pause,
    read,
)

EXPECTED_FALSE_ALERTS = 5.0
EXPECTED_FACES = 5000
P0 = EXPECTED_FALSE_ALERTS / EXPECTED_FACES  # 1 in 1,000 faces


def review_stream(rate: float, faces: int, seed: int) -> list[tuple[int, bool]]:
    """(faces seen so far, is a false alert) for each review, in order."""
    rng = np.random.default_rng(seed)
    false_at = np.flatnonzero(rng.random(faces) < rate) + 1
    true_at = np.flatnonzero(rng.random(faces) < rate / 4) + 1
    events = [(int(n), True) for n in false_at] + [(int(n), False) for n in true_at]
    return sorted(events)


def run(stream: list[tuple[int, bool]], p0: float = P0) -> tuple[int, int] | None:
    """Feed the stream to a monitor: (false-alert reviews, faces) at the pause, or None."""
    m = Monitor(p0)
    k = 0
    for faces, false in stream:
        k += false
        m.on_review(faces, k)
        if m.state == MonitorState.PAUSED:
            return k, faces
    return None


def test_expected_rate_comes_from_the_authorisation_figures() -> None:
    assert expected_rate(EXPECTED_FALSE_ALERTS, EXPECTED_FACES) == pytest.approx(P0)
    assert expected_rate(None, 100) is None and expected_rate(3.0, 0) is None


def test_the_prediction_is_where_the_expected_path_crosses_the_bound() -> None:
    k, n = predicted_pause(P0, 3.0)
    assert read(P0, n, k).exceeded
    assert not read(P0, int(np.ceil((k - 1) / (3 * P0))), k - 1).exceeded
    assert critical_false_alerts(P0, n) <= k


def test_at_three_times_the_expected_rate_alerts_pause_within_the_predicted_reviews() -> None:
    k_path, _ = predicted_pause(P0, 3.0)
    n90, k90 = faces_to_pause(P0, 3.0, power=0.9)
    results = [run(review_stream(3 * P0, 3 * n90, seed)) for seed in range(100)]
    assert all(r is not None for r in results), "a 3x stream never paused"
    ks = np.array([r[0] for r in results if r], dtype=float)
    faces = np.array([r[1] for r in results if r], dtype=float)
    # On its expected path the stream crosses the bound at k_path false alerts; random streams
    # scatter around it, half of them no later.
    assert np.median(ks) <= k_path
    # The bound predicts that 90% have paused by n90 faces (k90 false-alert reviews).
    assert np.mean(faces <= n90) >= 0.9
    assert np.mean(ks <= k90) >= 0.9
    # The reference seeded stream pauses within the prediction.
    first = run(review_stream(3 * P0, 3 * n90, seed=0))
    assert first is not None and first[0] <= k90 and first[1] <= n90


def test_at_the_expected_rate_it_never_pauses_in_10000_faces() -> None:
    assert run(review_stream(P0, 10_000, seed=12)) is None
    # And the error budget holds over many streams, not just the chosen one.
    wrong = sum(run(review_stream(P0, 10_000, seed)) is not None for seed in range(300))
    assert wrong / 300 <= 0.05


def test_the_officer_resumes_and_the_count_restarts() -> None:
    m = Monitor(P0)
    m.on_review(100, 5)
    assert m.state == MonitorState.PAUSED
    with pytest.raises(ValueError, match="not paused"):
        Monitor(P0).decide(OfficerChoice.RESUME, faces=1, false_alerts=0)
    m.decide(OfficerChoice.RESUME, faces=100, false_alerts=5)
    assert m.state == MonitorState.ACTIVE
    assert m.reading(100, 5).false_alerts == 0
    m.on_review(150, 5)
    assert m.state == MonitorState.ACTIVE


def test_resume_at_a_higher_threshold_uses_the_new_expectation_and_end_ends() -> None:
    m = Monitor(P0)
    m.on_review(50, 4)
    m.decide(OfficerChoice.RESUME_HIGHER_THRESHOLD, faces=50, false_alerts=4, new_p0=P0 / 10)
    assert m.p0 == pytest.approx(P0 / 10)
    m.on_review(60, 6)
    assert m.state == MonitorState.PAUSED
    m.decide(OfficerChoice.END, faces=60, false_alerts=6)
    assert m.state == MonitorState.ENDED


def test_reading_reports_rates_per_1000_faces_with_an_interval() -> None:
    r = read(P0, 2000, 2)
    assert r.observed_per_1000 == pytest.approx(1.0)
    assert r.lower_per_1000 < 1.0 < r.upper_per_1000
    assert r.expected_per_1000 == pytest.approx(1.0) and not r.exceeded
