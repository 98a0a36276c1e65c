"""One helper (core.runs.admin.clear_run_rows) knows every table that refers to a run; run
delete and jobs.requeue both use it."""

from __future__ import annotations

from pathlib import Path

from core import store
from core.runs import admin

RUN_COLUMNS = ("backtest_id", "run_id")  # every name a column pointing at a run has in the store


def test_every_table_with_a_run_column_is_covered(tmp_path: Path) -> None:
    db = tmp_path / "pineopt.duckdb"
    store.migrate(db)
    with store.connect(db) as con:
        found = con.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN "
            "information_schema.tables t USING (table_schema, table_name) WHERE "
            "t.table_type = 'BASE TABLE' AND c.table_schema = 'main' AND (c.column_name IN "
            "(?, ?) OR c.column_name LIKE '%\\_run\\_id' ESCAPE '\\' OR c.column_name LIKE "
            "'%\\_backtest\\_id' ESCAPE '\\')", list(RUN_COLUMNS)).fetchall()
    per_run = set(admin.per_run_tables(db))
    assert {"backtest_metrics", "trades", "equity", "margin_series", "risk_events", "plots",
            "artifacts"} <= per_run
    uncovered = [(t, c) for t, c in found
                 if not (c == admin.RUN_KEY and t in per_run) and admin.RUN_LINKS.get(t) != c]
    assert uncovered == [], "add the table to core.runs.admin (RUN_KEY or RUN_LINKS)"


def test_clearing_deletes_per_run_rows_and_unlinks_only_on_delete(tmp_path: Path) -> None:
    db = tmp_path / "pineopt.duckdb"
    store.migrate(db)
    with store.connect(db) as con:
        con.execute("INSERT INTO equity (backtest_id, ts, equity) VALUES "
                    "(7, TIMESTAMP '2024-01-01', 1.0), (8, TIMESTAMP '2024-01-01', 2.0)")
        assert con.execute("SELECT count(*) FROM equity").fetchone()[0] == 2
    with store.transaction(db) as con:
        admin.clear_run_rows(con, [7], unlink=False)
    with store.connect(db) as con:
        assert con.execute("SELECT backtest_id FROM equity").fetchall() == [(8,)]
