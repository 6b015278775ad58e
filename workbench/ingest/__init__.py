"""Ingest: load POS / ERP exports into the raw layer, losing nothing (DESIGN invariant 7).

    wb ingest --user u_admin --table pos_sales exports/pos_0301.csv

Flow (one module per step; everything but ``load`` is a pure function)::

    readers   file -> RawFile: every cell as text (CSV in UTF-8 / UTF-8 BOM /
              GB18030 / UTF-16, detected; .xlsx; Parquet), row numbers kept
    contracts conf/contracts.yaml -> Contract; the file's header -> contract columns
    coerce    one text column -> typed values + Issues (vectorised, pyarrow)
    validate  rows -> good / bad with every reason (scope, foreign keys,
              cross-field SQL checks via an in-memory DuckDB), repeated keys
    plan      RawFile -> Plan: rows to load, rows to quarantine, duplicates
    records   lineage, raw.quarantine and raw.ingest_log rows
    load      the session steps: earlier load of the same bytes, reference
              codes, the user's scope, keys already in raw; one transaction
    commands  the click command

Tables written (all through the governed session, in one transaction):

``raw.<table>``      the contract's columns, typed, then ``ingest_id``,
                     ``source_file``, ``source_row``, ``loaded_at`` (UTC) and
                     ``run_id`` (filled by the session).
``raw.quarantine``   one row per bad input row: ``ingest_id``, ``table_name``,
                     ``source_file``, ``source_row``, ``reason`` (every reason,
                     joined with '; '), ``record`` (the row as in the file, JSON
                     keyed by the file's own headers), ``quarantined_at``.
``raw.ingest_log``   one row per load: the file's SHA-256 and size, counts
                     (read = loaded + quarantined + duplicates), user, run,
                     times, status (loaded | partial | nothing_loaded).

``source_row`` is the row number a spreadsheet shows: header = row 1 (CSV:
blank lines are not counted; Excel: the sheet's row; Parquet: record 1 = row 1).

Idempotence: the same bytes loaded again into the same table add nothing
(found by SHA-256 in ``raw.ingest_log``). A row whose key is already in the
file or in ``raw.<table>`` is a duplicate when identical and is quarantined
when its values differ (raw data is never edited; a person decides).

Access: a user who ingests into ``raw.T`` needs write grants on ``raw.T``,
``raw.quarantine`` and ``raw.ingest_log`` and read grants on ``raw.T`` and
``raw.ingest_log`` (to skip files and keys already loaded) and on the core
tables the contract references. Scoped users (own stores, a region) have
rows of other stores quarantined ("outside your scope"). ``raw.quarantine``
has no location column on purpose: the session refuses a scoped writer's
rows for locations outside its scope, and those rows are exactly what a
scoped user's quarantine holds.
"""
