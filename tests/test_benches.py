"""Every benchmark still runs end to end at a tiny size and prints its ratio.

The numbers come from full-size runs (see each issue's notes); this only
keeps the scripts from rotting when the engine or the bundled app changes.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RUNS = {
    "store_bench.py": (["--records", "300", "--writes", "20"], "ratio"),
    "workflow_bench.py": (["--cases", "5", "--tasks", "2000"], "ratio"),
    "report_bench.py": (["--orders", "300", "--runs", "1"], "a/b"),
    "alert_bench.py": (["2000"], "ratio"),
    "import_bench.py": (["--lines", "60"], "import/raw"),
    "check_bench.py": (["--repeat", "1"], "check_tree"),
    "expr_bench.py": ([], "ratio"),
    "forms_bench.py": ([], "prepare create"),
    "http_bench.py": (["--clients", "2", "--write-clients", "4", "--requests", "10"], "vs floor"),
    "preview_bench.py": (["--runs", "5", "--orders", "10"], "Engine.preview"),
    "flat_bench.py": (["--small", "1000", "--large", "3000", "--cases", "3"], "large/small"),
    "spiff_peer.py": (["--cases", "5", "--rounds", "1"], "ratio loom/spiff"),
    "demo_bench.py": (["--orders", "12", "--customers", "6", "--days", "30"], "records"),
    "serve_cpu.py": (["--scenario", "post", "--requests", "10"], "server CPU"),
}


@pytest.mark.parametrize("script", sorted(RUNS))
def test_benchmark_runs_at_a_tiny_size(script):
    args, expect = RUNS[script]
    out = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert expect in out.stdout, out.stdout[-2000:]
