"""Fixtures for the tracking tests.

The server itself is the session fixture ``mlflow_server`` of ``tests/conftest.py``
(one real ``mlflow server`` for the whole session, shared with other test
packages, started through ``workbench.tracking.server.running_server``).
Each test registers its own model name, so tests do not depend on each other.
"""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def model_name(request, mlflow_server) -> str:
    """A registered-model name no other test uses."""
    return f"{request.node.name[:40].strip('_')}_{uuid.uuid4().hex[:6]}"
