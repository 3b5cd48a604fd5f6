"""The shipped copy of an evaluation report keeps all that governance reads, not the tables."""

from __future__ import annotations

import json

from openlfr.eval.approval import ModelApproval
from openlfr.eval.report import for_package, report_json
from openlfr.governance.evaluation import report_problems
from openlfr.vision.mock import MOCK_CONTRACT
from tests.unit.governance._support import approval_for, report_for


def test_the_packaged_copy_drops_only_the_per_threshold_tables() -> None:
    full = report_for(approval_for(MOCK_CONTRACT))
    for d in full["demographics"]:
        d["by_threshold"] = [{"threshold": 0.5, "fmr": {}}] * 50
    full["identification"] = {"sizes": [{"watchlist_size": 100, "by_threshold": [1] * 50}]}
    small = json.loads(report_json(for_package(full), compact=True))
    assert report_problems(small) == report_problems(full) == []
    assert ModelApproval.from_report_json(json.dumps(small)) == ModelApproval.from_report_json(
        json.dumps(full)
    )
    assert all("by_threshold" not in d for d in small["demographics"])
    assert small["identification"]["sizes"] == [{"watchlist_size": 100}]
    assert "reproduces" in small["trimmed"]
