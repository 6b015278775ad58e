"""Device tests run the drivers against the simulators over real socat pty pairs (no mock of the line).

Without socat those tests skip, saying so; CI installs it (.ci/system-deps).
"""

from __future__ import annotations

import shutil

import pytest

needs_socat = pytest.mark.skipif(shutil.which("socat") is None,
                                 reason="socat is not installed: apt-get install -y socat (.ci/system-deps does it)")
