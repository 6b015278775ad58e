"""Run locks: held for the block, refused to a second holder with who holds it, released however the block ends."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from workbench.pipelines.locks import RunLocked, hold, lock_path, read_holder


def test_a_second_holder_is_refused_with_the_run_and_pid_of_the_first(tmp_path):
    path = lock_path(tmp_path, "daily", "2025-11-30")
    assert path == tmp_path / "locks" / "daily-2025-11-30.lock"
    with hold(path, {"run_id": "run-1"}, what="pipeline daily for as-of 2025-11-30"):
        assert read_holder(path)["run_id"] == "run-1" and read_holder(path)["pid"] == os.getpid()
        with pytest.raises(RunLocked, match=rf"pipeline daily for as-of 2025-11-30 is held by run run-1 \(pid {os.getpid()} on"):
            with hold(path, {"run_id": "run-2"}, what="pipeline daily for as-of 2025-11-30"):
                pass
    with hold(path, {"run_id": "run-3"}):  # released at the end of the block
        assert read_holder(path)["run_id"] == "run-3"
    assert read_holder(path) == {}


def test_the_lock_is_released_when_the_block_raises(tmp_path):
    path = lock_path(tmp_path, "a b/c", "x")  # odd characters make a safe file name
    assert path.name == "a_b_c-x.lock"
    with pytest.raises(ValueError):
        with hold(path, {"run_id": "r"}):
            raise ValueError("boom")
    with hold(path, {"run_id": "again"}):
        pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    path = lock_path(tmp_path, "p", "d")
    code = ("import sys, os; from workbench.pipelines.locks import hold\n"
            f"with hold({str(path)!r}, {{'run_id': 'dead'}}):\n"
            "    print('held', flush=True); sys.stdin.read(); os._exit(0)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"  # the child holds it now
    with pytest.raises(RunLocked, match="run dead"):
        with hold(path, {}):
            pass
    child.kill()
    child.wait()
    with hold(path, {"run_id": "alive"}):  # the operating system released it
        assert read_holder(path)["run_id"] == "alive"


def test_a_waiting_holder_gets_the_lock_when_it_is_released(tmp_path):
    path = lock_path(tmp_path, "p", "d")
    taken, release = threading.Event(), threading.Event()

    def first():
        with hold(path, {"run_id": "first"}):
            taken.set()
            release.wait()

    thread = threading.Thread(target=first)
    thread.start()
    taken.wait()
    release.set()
    with hold(path, {"run_id": "second"}, wait_s=30):
        assert read_holder(path)["run_id"] == "second"
    thread.join()
