"""The design card's stack is installed and imports in this environment (later capabilities build on it)."""

from __future__ import annotations

import importlib

import pytest

STACK = ["jupyterlab", "voila", "panel", "hvplot", "ibis", "duckdb", "mlflow", "optuna", "lightgbm",
         "diffusers", "transformers", "cv2", "serial", "papermill", "pyspark", "torch"]


@pytest.mark.slow
@pytest.mark.parametrize("module", STACK)
def test_stack_module_imports(module):
    assert importlib.import_module(module).__name__ == module


def test_torch_is_the_cpu_build():
    import torch

    assert torch.__version__.startswith("2.13.0") and not torch.cuda.is_available()


def test_duckdb_stays_below_2_for_ibis_12():
    import duckdb

    # ibis 12 breaks at run time on duckdb 2 (STACK.md): the pin must hold.
    assert int(duckdb.__version__.split(".")[0]) < 2
