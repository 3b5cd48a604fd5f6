"""Live false-alert monitor (item 12.2): is the street worse than the lab said?

At authorisation the officer saw an expected number of false alerts for an expected number of
faces (C.10), i.e. an expected false-alert rate per face p0. Every operator review updates the
observed count: k false alerts among n faces. The deployment pauses its alerts when the
Clopper-Pearson lower bound of k/n is above p0, i.e. the observed rate exceeds the expectation
with 95% confidence.

The bound is looked at after every false alert, and looking many times at a 95% bound would
pause a healthy deployment far more than 5% of the time. So the k-th look spends
alpha / (k (k + 1)) of the error budget; those sum to alpha over an unbounded stream, so a
deployment running at its expected rate is paused wrongly at most 5% of the time over its whole
life (a union bound), not 5% per look.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from scipy import stats

ALPHA = 0.05


class MonitorState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class OfficerChoice(StrEnum):
    RESUME = "resume"
    RESUME_HIGHER_THRESHOLD = "resume_higher_threshold"
    END = "end"


def look_alpha(k: int, alpha: float = ALPHA) -> float:
    """Error budget of the look at the k-th false alert (k >= 1)."""
    return alpha / (k * (k + 1))


def lower_bound(k: int, n: int, alpha: float) -> float:
    """One-sided Clopper-Pearson lower bound of a binomial rate at confidence 1 - alpha."""
    if k <= 0 or n <= 0:
        return 0.0
    if k >= n:
        return float(alpha ** (1 / n))
    return float(stats.beta.ppf(alpha, k, n - k + 1))


def upper_bound(k: int, n: int, alpha: float) -> float:
    if n <= 0 or k >= n:
        return 1.0
    return float(stats.beta.ppf(1 - alpha, k + 1, n - k))


@dataclass(frozen=True, slots=True)
class Reading:
    """The monitor's view after one review: published in the deployment record."""

    faces: int
    false_alerts: int
    expected_per_1000: float
    observed_per_1000: float
    lower_per_1000: float
    upper_per_1000: float
    exceeded: bool

    def to_dict(self) -> dict[str, float | int | bool]:
        return {
            "faces": self.faces,
            "false_alerts": self.false_alerts,
            "expected_per_1000": self.expected_per_1000,
            "observed_per_1000": self.observed_per_1000,
            "lower_per_1000": self.lower_per_1000,
            "upper_per_1000": self.upper_per_1000,
            "exceeded": self.exceeded,
        }


def expected_rate(expected_false_alerts: float | None, expected_faces: int | None) -> float | None:
    """p0 from the figures shown at authorisation; None when they were not recorded."""
    if expected_false_alerts is None or not expected_faces:
        return None
    return max(float(expected_false_alerts), 0.0) / float(expected_faces)


def read(p0: float, faces: int, false_alerts: int, alpha: float = ALPHA) -> Reading:
    """The reading for k false alerts among n faces against the expected rate p0."""
    n, k = max(int(faces), int(false_alerts), 0), max(int(false_alerts), 0)
    a = look_alpha(k, alpha) if k else alpha
    lo = lower_bound(k, n, a)
    hi = upper_bound(k, n, alpha)
    return Reading(
        faces=n,
        false_alerts=k,
        expected_per_1000=1000 * p0,
        observed_per_1000=1000 * k / n if n else 0.0,
        lower_per_1000=1000 * lo,
        upper_per_1000=1000 * hi,
        exceeded=k > 0 and lo > p0,
    )


def critical_false_alerts(p0: float, faces: int, alpha: float = ALPHA) -> int:
    """Smallest k at which k false alerts among `faces` faces would pause (math.inf-free)."""
    k = 1
    while k <= faces:
        if lower_bound(k, faces, look_alpha(k, alpha)) > p0:
            return k
        k += 1
    return faces + 1


def predicted_pause(p0: float, ratio: float, alpha: float = ALPHA) -> tuple[int, int]:
    """(false alerts, faces) at which a deployment running at `ratio` x p0 pauses on its
    expected path: the k-th false alert arrives after k / (ratio p0) faces."""
    if ratio <= 1:
        raise ValueError("a deployment at or below its expected rate is not meant to pause")
    k = 1
    while True:
        n = math.ceil(k / (ratio * p0))
        if lower_bound(k, n, look_alpha(k, alpha)) > p0:
            return k, n
        k += 1


def faces_to_pause(
    p0: float, ratio: float, power: float = 0.9, alpha: float = ALPHA
) -> tuple[int, int]:
    """(faces, false alerts): by this many faces a deployment truly at `ratio` x p0 has paused
    with probability at least `power`. Conservative: it counts only streams whose false alerts
    at that point already cross the bound, not those that crossed earlier and would be paused.
    """
    from scipy.stats import binom

    def p_crossed(n: int) -> tuple[float, int]:
        c = critical_false_alerts(p0, n, alpha)
        return float(binom.sf(c - 1, n, min(1.0, ratio * p0))), c

    lo, hi = 1, max(2, math.ceil(1 / p0))
    while p_crossed(hi)[0] < power:
        lo, hi = hi, hi * 2
    while hi - lo > max(1, hi // 200):
        mid = (lo + hi) // 2
        if p_crossed(mid)[0] >= power:
            hi = mid
        else:
            lo = mid
    return hi, p_crossed(hi)[1]


@dataclass(slots=True)
class Monitor:
    """State of one deployment's monitor. Counts since the last resume: an officer who
    resumes has accepted what came before, and a re-authorised threshold starts afresh."""

    p0: float
    state: MonitorState = MonitorState.ACTIVE
    base_faces: int = 0
    base_false: int = 0
    alpha: float = ALPHA

    def reading(self, faces: int, false_alerts: int) -> Reading:
        return read(self.p0, faces - self.base_faces, false_alerts - self.base_false, self.alpha)

    def on_review(self, faces: int, false_alerts: int) -> Reading:
        """Update after a review; pauses when the bound is exceeded."""
        r = self.reading(faces, false_alerts)
        if self.state == MonitorState.ACTIVE and r.exceeded:
            self.state = MonitorState.PAUSED
        return r

    def decide(
        self,
        choice: OfficerChoice,
        *,
        faces: int,
        false_alerts: int,
        new_p0: float | None = None,
    ) -> None:
        if self.state != MonitorState.PAUSED:
            raise ValueError(f"the monitor is {self.state.value}, not paused")
        if choice == OfficerChoice.END:
            self.state = MonitorState.ENDED
            return
        if choice == OfficerChoice.RESUME_HIGHER_THRESHOLD and new_p0 is not None:
            self.p0 = new_p0
        self.base_faces, self.base_false = faces, false_alerts
        self.state = MonitorState.ACTIVE
