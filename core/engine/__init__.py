"""CHILD SIDE, pure: (strategy class, OHLCV, settings) -> equity, trades, events; the crypto broker,
lots, risk rules, and a study's trial batches.

Runs inside the sandbox. Imports nothing of the store, market, runs or strategies packages
(tests/unit/test_import_contracts.py checks it).
"""
