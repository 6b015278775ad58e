"""Forecasting tests use the session-wide tiny chain (``tiny_settings`` in tests/conftest.py)."""
