"""One evaluation context (real SFace engine, a throwaway encrypted cache) shared by the
evaluation integration tests, so each image is embedded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from openlfr.eval.runner import EvalContext


@pytest.fixture(scope="session")
def eval_ctx(sface_engine, tmp_path_factory: pytest.TempPathFactory) -> EvalContext:  # type: ignore[no-untyped-def]
    cache: Path = tmp_path_factory.mktemp("eval-cache")
    return EvalContext.create(sface_engine, cache, progress=False)
