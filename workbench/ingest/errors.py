"""The one error type of ingest that reaches the user as a one-line message.

Anything that makes a whole file unusable (cannot be read, decoded, has no
rows, lacks a required column, breaks its contract) raises ``IngestError``
*before* anything is written, so the CLI can print the message, exit 2 and
leave the warehouse unchanged (DESIGN invariant 7). Row-level problems are
never errors: those rows go to quarantine.
"""

from __future__ import annotations


class IngestError(Exception):
    """A whole-file problem; the message says what is wrong and what to do next."""
