"""Comparing scores: ``reproduce`` (re-run a token's lock), the statistics behind its
verdict, and ``diff`` (two tokens field by field)."""
