"""The preview keeps answering 1,000 concurrent requests on loopback while it rebuilds."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED

LOAD_TEST = Path(__file__).resolve().parents[1] / "benchmarks" / "load_test.py"
if not (SHARED / "bench" / "gen_corpus.py").is_file():
    pytest.skip("../shared/bench is not available", allow_module_level=True)


def test_thousand_concurrent_requests_during_a_rebuild() -> None:
    spec = importlib.util.spec_from_file_location("load_test", LOAD_TEST)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    masthead = shutil.which("masthead", path=str(Path(sys.executable).parent)) or "masthead"
    result = module.run(records=300, requests=1000, timeout=60, masthead=masthead)
    assert result["wrong_count"] == 0, result["wrong"]
