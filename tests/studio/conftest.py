"""The studio's tests run offline on one thread, with a tiny random SD pipeline saved once per session."""

from __future__ import annotations

import shutil

import pytest

from workbench.config import load_settings
from workbench.studio.conf import load_studio_settings

SKC = "24SS-DR0003-RED"  # a dress of the tiny chain (seed 42)


@pytest.fixture(scope="session", autouse=True)
def _offline_one_thread(tmp_path_factory):
    """No download can reach the hub, one torch thread, and images never land in the checkout's data/."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")  # a download attempt fails instead of reaching the hub
        env.setenv("WB_STUDIO_DIR", str(tmp_path_factory.mktemp("studio-default")))
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    """A tiny random pipeline saved with ``save_pretrained``: the layout of real weights."""
    from workbench.studio.tiny import build_tiny_weights

    return build_tiny_weights(tmp_path_factory.mktemp("weights") / "tiny-sd")


@pytest.fixture
def studio(tiny_weights, tmp_path):
    """The repository's ``studio:`` settings pointed at the tiny weights, 64 px, 2 steps."""
    return load_studio_settings().with_(weights_dir=tiny_weights, output_dir=tmp_path / "studio", size=64, steps=2,
                                        model_id="workbench/tiny-random-sd")


@pytest.fixture
def warehouse(tiny_settings, tmp_path):
    """A copy of the tiny chain this test may write to."""
    settings = load_settings(engine="duckdb", warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    return settings
