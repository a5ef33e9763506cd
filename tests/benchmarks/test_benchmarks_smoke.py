"""Smoke runs of the engine benchmarks: each runs with ``--quick`` and writes its JSON.

The scripts run side by side in child processes (their timings are meaningless here;
only that they complete, check what they claim to check, and report every figure).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ("engine_turn", "cold_start", "memory")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run every script with --quick at once (run_all runs concurrency); load the JSON."""
    out = tmp_path_factory.mktemp("bench")
    procs = {name: subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--quick",
         "--out", str(out / f"{name}.json")], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT) for name in SCRIPTS}
    procs["run_all"] = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "concurrency",
         "--out", str(out / "run_all.json")], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name} failed:\n{output.decode(errors='replace')[-3000:]}"
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


def test_engine_turn_reports_overhead_per_shape_and_transport(results: dict[str, Any]) -> None:
    data = results["engine_turn"]
    assert {"machine", "params", "target", "baseline", "results"} <= data.keys()
    assert data["params"]["quick"] is True
    assert [r["transport"] for r in data["results"]] == ["in-process", "http"]
    for res in data["results"]:
        assert res["recall_messages"] >= data["params"]["messages"]
        assert res["archival_passages"] == data["params"]["passages"]
        shapes = {s["shape"]: s for s in res["shapes"]}
        assert set(shapes) == {"send_message", "conversation_search", "archival_memory_search"}
        for s in shapes.values():
            assert s["overhead_ms"]["n"] == data["params"]["turns"]
            assert s["overhead_ms"]["p50"] > 0
    assert data["target"]["p50_ms"] == 15.0 and isinstance(data["target"]["met"], bool)


def test_concurrency_through_run_all_checks_order_and_loss(results: dict[str, Any]) -> None:
    summary = results["run_all"]
    assert [(r["name"], r["ok"], r["quick"]) for r in summary["runs"]] == [
        ("concurrency", True, True)]
    data = results["concurrency"]
    res = data["result"]
    turns = data["params"]["conversations"] * data["params"]["messages"]
    assert res["turns"] == turns and res["answered"] == turns and res["lost"] == 0
    assert res["out_of_order_conversations"] == 0
    assert res["recall_out_of_order_conversations"] == 0
    assert res["server"]["requests"] >= turns
    assert {"p50", "p99"} <= res["queue_ms"].keys()
    assert data["ceiling_turns_per_s"] == pytest.approx(
        data["params"]["provider_slots"] / data["params"]["latency"])


def test_cold_start_measures_fresh_and_existing_data_dirs(results: dict[str, Any]) -> None:
    cases = results["cold_start"]["cases"]
    for name in ("membot chat, fresh data dir", "membot chat, existing data dir"):
        assert cases[name]["n"] == 1 and cases[name]["p50"] > 0
    assert "baseline: python -c pass" in cases
    assert results["cold_start"]["target"]["seconds"] == 3.0


def test_memory_reports_rss_per_stage_with_every_agent_loaded(results: dict[str, Any]) -> None:
    data = results["memory"]
    assert data["agents_loaded"] == data["params"]["agents"]
    stages = list(data["stages_mb"].values())
    assert len(stages) == 4 and stages[1] > stages[0]  # the embedding model is loaded
    assert data["rss_mb"] == stages[-1] and data["target"]["rss_mb"] == 1536
