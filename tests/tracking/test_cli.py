"""`wb models ...` in-process (click's runner) and `wb mlflow serve|status|stop` as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.tracking.server import free_port

from . import toy

EVALUATOR = f"{toy.__name__}:evaluate"
WB = str(Path(sys.executable).with_name("wb"))


def wb(*args: str) -> "Result":
    return CliRunner().invoke(main, list(args))


def test_without_a_server_commands_refuse_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("WB_MODELS_DIR", str(tmp_path))
    monkeypatch.delenv("WB_MLFLOW_URI", raising=False)
    result = wb("models", "list")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: no MLflow server is running for the store {tmp_path}: start it with `wb mlflow serve` "
        "(or set WB_MLFLOW_URI to a server that runs elsewhere)"]
    assert wb("mlflow", "status").exit_code == 1


def test_help_has_examples():
    for args in (["mlflow"], ["mlflow", "serve"], ["models"], ["models", "review"], ["models", "list"]):
        result = wb(*args, "--help")
        assert result.exit_code == 0 and "Example" in result.output, args


@pytest.mark.slow
def test_models_review_end_to_end(model_name):
    toy.register(model_name, 2.5)
    first = wb("models", "review", model_name, "--evaluator", EVALUATOR)
    assert first.exit_code == 0, first.output
    assert "promoted to champion" in first.output and "no champion yet" in first.output

    toy.register(model_name, 2.48)  # 4 % better is not 5 % better
    refused = wb("models", "review", model_name, "--evaluator", EVALUATOR, "--margin", "0.05")
    assert refused.exit_code == 1, refused.output
    assert "rejected; champion stays version 1" in refused.output and "misses the required 5.0 %" in refused.output
    assert "rel_error" in refused.output and "-4.0 %" in refused.output  # the evidence table

    accepted = wb("models", "review", model_name, "--evaluator", EVALUATOR, "--margin", "0.01", "--json")
    assert accepted.exit_code == 0, accepted.output
    decision = json.loads(accepted.output)
    assert (decision["decision"], decision["challenger_version"], decision["champion_version"]) == ("promote", 2, 1)
    assert decision["thresholds"]["margin"] == 0.01

    listed = json.loads(wb("models", "list", "--json").output)
    mine = {row["version"]: row for row in listed if row["name"] == model_name}
    assert mine[2]["aliases"] == "champion" and mine[1]["aliases"] == "previous_champion"
    shown = wb("models", "show", model_name)
    assert shown.exit_code == 0 and f"{model_name} version 2 (champion)" in shown.output


@pytest.mark.slow
def test_models_review_refusals_are_one_line(model_name):
    assert wb("models", "review", model_name).output.startswith(f"error: no review evaluator is registered for model '{model_name}'")
    missing = wb("models", "review", model_name, "--evaluator", EVALUATOR)
    assert missing.exit_code == 2 and missing.output.startswith(f"error: nothing to review for '{model_name}'")
    evaluator_gone = wb("models", "review", "demand_forecast", "--evaluator", "workbench.nowhere:evaluate")
    assert evaluator_gone.exit_code == 2 and "cannot be imported" in evaluator_gone.output


@pytest.mark.slow
def test_serve_status_stop_as_real_processes(tmp_path):
    env = {**os.environ, "WB_MODELS_DIR": str(tmp_path / "store")}
    env.pop("WB_MLFLOW_URI", None)
    port = free_port()

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([WB, "mlflow", *args], env=env, capture_output=True, text=True, timeout=timeout)

    served = run("serve", "--port", str(port))
    try:
        assert served.returncode == 0, served.stderr
        assert served.stdout.startswith(f"started: http://127.0.0.1:{port} (PID ")
        again = run("serve")  # the store's server is found whatever its port
        assert again.returncode == 0 and again.stdout.startswith(f"already running: http://127.0.0.1:{port}")
        status = json.loads(run("status", "--json").stdout)
        assert status["healthy"] and status["url"] == f"http://127.0.0.1:{port}"
        assert status["store"] == str(tmp_path / "store") and Path(status["log"]).exists()
        assert (tmp_path / "store" / "server.pid").read_text().strip() == str(status["pid"])
        assert (tmp_path / "store" / "mlflow.db").exists()
    finally:
        stopped = run("stop")
    assert stopped.returncode == 0 and stopped.stdout.startswith(f"stopped the server at http://127.0.0.1:{port}")
    after = run("status")
    assert after.returncode == 1 and "not running" in after.stdout
    assert not Path(f"/proc/{status['pid']}").exists() or b"mlflow" not in Path(f"/proc/{status['pid']}/cmdline").read_bytes()
