"""The members' outputs through the governed door: contracts, one transaction, re-runs replace, a failed write
keeps the previous rows, personal data masked for all but admin, a store manager reads their own members."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

import workbench as wb
from workbench.config import load_settings
from workbench.members.output import TABLES, member_outputs, read_output, to_rows, write_member_outputs
from workbench.warehouse.schema import OUTPUTS

AS_OF = dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def written(tiny_settings, tmp_path_factory):
    """A copy of tiny with the outputs of AS_OF written twice by the scheduler (the second run replaces)."""
    root = tmp_path_factory.mktemp("members-out")
    settings = load_settings(engine="duckdb", warehouse=root / "tiny.duckdb", audit_dir=root / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    with wb.session("u_pipeline", settings=settings, read_only=False) as s:
        frames = member_outputs(s, AS_OF)
        first = write_member_outputs(s, frames, AS_OF)
        second = write_member_outputs(s, frames, AS_OF)
        counts = {t: int(s.table(t).count().to_pandas()) for t in TABLES.values()}
    return settings, frames, first, second, counts


def test_every_output_is_written_once_per_as_of(written):
    settings, frames, first, second, counts = written
    assert first == second == counts  # the re-run replaced its rows: nothing doubled
    assert all(counts[TABLES[k]] == len(frames[k]) for k in TABLES)
    assert counts["marts.member_segments"] > 1000 and counts["marts.member_calls"] > 0
    assert counts["marts.scalper_cases"] > 0 and counts["marts.pairing_suggestions"] > 0
    with wb.session("u_analyst", settings=settings) as s:
        for table in TABLES.values():
            assert s.table(table).columns == tuple(OUTPUTS[table].column_names)
        cases = read_output(s, "scalpers")
        runs = s.table("marts.member_segments").run_id.nunique().to_pandas()
    assert set(cases["period_end"].dt.date) == {AS_OF}
    assert set(cases["period_start"].dt.date) == {AS_OF - dt.timedelta(days=89)}
    assert cases["evidence"].str.contains("ticket").all() and runs == 1


def test_store_staff_read_their_own_members_masked_and_no_scalper_cases(written):
    settings, frames, *_ = written
    with wb.session("u_store_001", settings=settings) as s:
        calls = read_output(s, "calls", AS_OF)
        segments = read_output(s, "segments", AS_OF)
        with pytest.raises(PermissionError):
            s.table("marts.scalper_cases")
    assert set(calls["store_code"]) == {"S001"} and list(calls["rank"]) == list(range(1, len(calls) + 1))
    assert calls["phone"].str.fullmatch(r"\d{3}\*{4}\d{4}").all() and calls["products"].str.len().gt(0).any()
    assert set(segments["home_store_id"]) == {1} and len(segments) < len(frames["segments"])


def test_names_and_phones_are_masked_on_read_for_all_but_admin(written, tmp_path):
    settings, frames, *_ = written
    mine = load_settings(engine="duckdb", warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(settings.warehouse, mine.warehouse)
    with wb.session("u_admin", settings=mine, read_only=False) as s:  # an admin's run stores them in clear
        write_member_outputs(s, {"calls": member_outputs(s, AS_OF)["calls"]}, AS_OF)
        clear = read_output(s, "calls")
    with wb.session("u_analyst", settings=mine) as s:
        masked = read_output(s, "calls")
    assert clear["phone"].str.fullmatch(r"\d{11}").all()
    assert masked["phone"].str.fullmatch(r"\d{3}\*{4}\d{4}").all() and masked["member_name"].str.contains(r"\*").all()


def test_a_bad_frame_is_refused_before_anything_changes(written, tmp_path):
    settings, frames, first, *_ = written
    mine = load_settings(engine="duckdb", warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(settings.warehouse, mine.warehouse)
    bad = dict(frames, pairing=frames["pairing"].drop(columns="suggested_skc_id"))
    with wb.session("u_pipeline", settings=mine, read_only=False) as s:
        with pytest.raises(ValueError, match="marts.pairing_suggestions lack suggested_skc_id"):
            write_member_outputs(s, bad, AS_OF)
        twice = frames["segments"].iloc[[0, 0]]
        with pytest.raises(ValueError, match="repeat a key of marts.member_segments"):
            to_rows("marts.member_segments", twice, as_of=AS_OF)
        assert {t: int(s.table(t).count().to_pandas()) for t in TABLES.values()} == first
    with wb.session("u_analyst", settings=mine) as s, pytest.raises(PermissionError):
        write_member_outputs(s, frames, AS_OF)  # analysts read; the scheduler writes


def test_an_as_of_date_before_any_purchase_is_refused_with_the_span(tiny_settings):
    from workbench.members.summary import MembersError

    with wb.session("u_analyst", settings=tiny_settings) as s:
        with pytest.raises(MembersError, match="before any member purchase you may read .* from 2025-01-01"):
            member_outputs(s, "2024-06-30")
