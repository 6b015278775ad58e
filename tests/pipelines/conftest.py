"""The ``project`` fixture: a throwaway project root (see project_files)."""

from __future__ import annotations

import pytest

from .project_files import Project


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path)
