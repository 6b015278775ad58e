"""Retention of archived runs: run folders older than ``pipelines.keep_days`` go, nothing else does."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.config import load_settings
from workbench.pipelines import retention
from workbench.pipelines.events import Event

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def run_folder(runs: Path, pipeline: str, as_of: str, run_id: str, *, age_days: float, size: int = 10,
               now: dt.datetime = NOW) -> Path:
    """A run folder with a notebook and a kept output of ``size`` bytes each, last written ``age_days`` before ``now``."""
    folder = runs / pipeline / as_of / run_id
    (folder / "step.outputs").mkdir(parents=True)
    for path in (folder / "step.ipynb", folder / "step.outputs" / "marts.forecast.parquet"):
        path.write_bytes(b"x" * size)
        stamp = (now - dt.timedelta(days=age_days)).timestamp()
        os.utime(path, (stamp, stamp))
    return folder


@pytest.fixture
def runs(tmp_path) -> Path:
    runs = tmp_path / "runs"
    run_folder(runs, "daily", "2025-10-01", "daily-old", age_days=120, size=1000)
    run_folder(runs, "daily", "2025-12-01", "daily-new", age_days=10)
    run_folder(runs, "weekly", "2025-10-05", "weekly-old", age_days=100)
    (runs / "locks").mkdir()
    (runs / "locks" / "daily-2025-10-01.lock").write_text("{}")
    (runs / "schedule.sqlite").write_text("")
    (runs / "daily" / "notes").mkdir()  # not an as-of date: not a run
    (runs / "daily" / "notes" / "keep-me").mkdir()
    for path in (runs / "locks" / "daily-2025-10-01.lock", runs / "schedule.sqlite"):
        os.utime(path, (0, 0))
    return runs


def test_runs_past_the_retention_go_and_their_empty_folders_with_them(runs):
    gone = retention.prune(runs, 90, NOW)
    assert sorted(g.folder.name for g in gone) == ["daily-old", "weekly-old"]
    assert [g.size for g in gone if g.folder.name == "daily-old"] == [2000]
    assert not (runs / "daily" / "2025-10-01").exists() and not (runs / "weekly").exists()
    assert (runs / "daily" / "2025-12-01" / "daily-new" / "step.ipynb").is_file()
    assert (runs / "locks" / "daily-2025-10-01.lock").is_file() and (runs / "schedule.sqlite").is_file()
    assert (runs / "daily" / "notes" / "keep-me").is_dir()
    assert retention.prune(runs, 90, NOW) == []


def test_a_run_with_one_recent_file_is_kept_and_a_dry_run_removes_nothing(runs):
    recent = runs / "daily" / "2025-10-01" / "daily-old" / "step.attempt2.ipynb"
    recent.write_text("{}")
    os.utime(recent, ((NOW - dt.timedelta(days=1)).timestamp(),) * 2)
    listed = retention.prune(runs, 90, NOW, dry_run=True)
    assert [g.folder.name for g in listed] == ["weekly-old"]
    assert (runs / "weekly" / "2025-10-05" / "weekly-old").is_dir()


@pytest.mark.parametrize("value, expected", [(30, 30), (None, None)])
def test_keep_days_is_read_from_the_settings(value, expected):
    settings = load_settings().with_(pipelines={"keep_days": value})
    assert retention.keep_days(settings) == expected
    assert retention.keep_days(load_settings().with_(pipelines={})) == retention.DEFAULT_KEEP_DAYS


@pytest.mark.parametrize("value", [0, -3, 1.5, "90", True])
def test_a_bad_keep_days_says_what_it_must_be(value):
    with pytest.raises(ValueError, match="pipelines.keep_days must be a whole number of days"):
        retention.keep_days(load_settings().with_(pipelines={"keep_days": value}))


def test_the_end_of_a_run_prunes_and_nothing_else_does(runs):
    settings = load_settings().with_(runs_dir=runs, pipelines={"keep_days": 1})
    listener = retention.listener(settings)
    listener(Event("attempt_finished", "r", "daily", dt.date(2026, 3, 1), step="s", status="succeeded"))
    assert (runs / "daily" / "2025-10-01" / "daily-old").is_dir()
    listener(Event("run_finished", "r", "daily", dt.date(2026, 3, 1), status="succeeded"))
    assert not (runs / "daily" / "2025-10-01").exists()  # a day old by the clock: everything planted is


def test_wb_runs_prune_lists_then_removes(tmp_path, monkeypatch):
    runs, now = tmp_path / "runs", dt.datetime.now(dt.timezone.utc)  # the command prunes by today's date
    run_folder(runs, "daily", "2025-10-01", "daily-old", age_days=120, now=now)
    run_folder(runs, "daily", "2025-12-01", "daily-new", age_days=10, now=now)
    run_folder(runs, "weekly", "2025-10-05", "weekly-old", age_days=100, now=now)
    monkeypatch.setenv("WB_RUNS_DIR", str(runs))
    shown = CliRunner().invoke(main, ["runs", "prune", "--dry-run", "--older-than", "30", "--format", "csv"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("-old") == 2 and (runs / "weekly").is_dir()
    done = CliRunner().invoke(main, ["runs", "prune", "--older-than", "30"])
    assert done.exit_code == 0 and "removed 2 archived run(s) older than 30 days" in done.output
    assert not (runs / "weekly").exists() and (runs / "daily" / "2025-12-01" / "daily-new").is_dir()
    refused = CliRunner().invoke(main, ["runs", "prune", "--older-than", "0"])
    assert refused.exit_code == 2 and "0" in refused.output


def test_wb_runs_show_says_when_an_archive_was_removed(tmp_path):
    from workbench.pipelines.run_commands import _archived

    kept = tmp_path / "step.html"
    kept.write_text("<html></html>")
    assert _archived(str(kept)) == str(kept)
    assert _archived(str(tmp_path / "gone.html")).endswith("(removed: older than pipelines.keep_days)")
    assert _archived(None) == "" and _archived("") == ""
