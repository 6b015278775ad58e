"""Retail Workbench."""
