"""`wb forecast tune` runs a stored Optuna study from the command line."""

from __future__ import annotations

import optuna
import pytest
from click.testing import CliRunner

from workbench.cli import main


@pytest.mark.slow
def test_tune_stores_its_study_and_prints_the_best_trial(tiny_settings, tmp_path):
    env = {"WB_WAREHOUSE": str(tiny_settings.warehouse), "WB_AUDIT_DIR": str(tiny_settings.audit_dir),
           "WB_MODELS_DIR": str(tmp_path)}
    args = ["forecast", "tune", "--as-of", "2025-12-03", "--trials", "1", "--windows", "1", "--study", "cli-test"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "best trial 0: WRMSSE" in result.output
    study = optuna.load_study(study_name="cli-test", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert len(study.trials) == 1 and study.best_value > 0


def test_tune_refuses_an_as_of_date_outside_the_data(tiny_settings, tmp_path):
    env = {"WB_WAREHOUSE": str(tiny_settings.warehouse), "WB_AUDIT_DIR": str(tiny_settings.audit_dir),
           "WB_MODELS_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["forecast", "tune", "--as-of", "2027-01-01", "--trials", "1"], env=env)
    assert result.exit_code == 2 and "2027-01-01" in result.output
    assert not (tmp_path / "optuna.db").exists() or optuna.get_all_study_summaries(f"sqlite:///{tmp_path / 'optuna.db'}") == []
