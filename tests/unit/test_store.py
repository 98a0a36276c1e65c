"""Store: migrations are idempotent, tables exist, lock errors are explained."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from core import store

SPINE_TABLES = {"strategies", "strategy_versions", "ohlcv", "symbols", "funding_rates",
                "backtests", "backtest_metrics", "trades", "equity", "artifacts",
                "schema_migrations"}


def test_migrate_creates_every_table_and_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    first = store.migrate(db)
    second = store.migrate(db)
    assert first == second == max(n for n, _ in store.MIGRATIONS)
    with store.connect(db) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                  .fetchall()}
        applied = con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
    assert SPINE_TABLES <= tables
    assert applied == len(store.MIGRATIONS)


def test_migrations_have_unique_numbers() -> None:
    numbers = [n for n, _ in store.MIGRATIONS]
    assert len(numbers) == len(set(numbers))


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    store.migrate(db)
    with pytest.raises(RuntimeError), store.transaction(db) as con:
        con.execute("INSERT INTO funding_rates VALUES ('x', 'BTC', TIMESTAMP '2024-01-01', 0.1)")
        raise RuntimeError("boom")
    with store.connect(db) as con:
        assert con.execute("SELECT count(*) FROM funding_rates").fetchone()[0] == 0


def test_lock_held_by_another_process_is_reported(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.duckdb"

    def locked(*_args: object, **_kwargs: object) -> None:
        raise duckdb.IOException('Could not set lock on file "x": Conflicting lock is held')

    monkeypatch.setattr(store, "LOCK_WAIT_S", 0.05)
    monkeypatch.setattr(duckdb, "connect", locked)
    with pytest.raises(store.StoreLockedError, match="busy in another process"):
        with store.connect(db):
            pass


def test_init_makes_the_home_private_and_the_store_owner_only(tmp_path: Path) -> None:
    import stat

    from core import bootstrap
    from core.settings import load_settings

    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)  # as a careless earlier install left it
    settings = load_settings({"PINEOPT_HOME": str(home)})
    bootstrap.init_store(settings)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(settings.db_path.stat().st_mode) == 0o600
    settings.db_path.chmod(0o644)
    bootstrap.init_store(settings)  # a later start repairs it
    assert stat.S_IMODE(settings.db_path.stat().st_mode) == 0o600


def test_transactions_touching_one_row_take_turns_in_a_process(tmp_path: Path) -> None:
    """Three threads saving versions of one strategy at once (three forwarded CLI backtests of
    one file): DuckDB alone fails all but one with "Conflict on update"; every save lands."""
    from concurrent.futures import ThreadPoolExecutor

    from core.model import StrategyMeta
    from core.strategies import crud

    db = tmp_path / "s.duckdb"
    store.migrate(db)
    source = (Path(__file__).parents[2] / "examples" / "sma_cross.py").read_text()

    def save(i: int) -> tuple[int, int]:
        return crud.save_by_name(db, meta=StrategyMeta(name="same"), source=f"{source}\n# {i}\n")

    crud.save_by_name(db, meta=StrategyMeta(name="same"), source=source)
    with ThreadPoolExecutor(max_workers=3) as pool:
        saved = list(pool.map(save, range(9)))
    assert {sid for sid, _ in saved} == {1}
    assert sorted(version for _, version in saved) == list(range(2, 11))


def test_saving_one_new_file_from_several_threads_at_once_makes_one_strategy(
        tmp_path: Path) -> None:
    """Four CLI backtests of a new file forwarded to the app at once made four strategies of
    one name (the name was looked up before the save's transaction)."""
    from concurrent.futures import ThreadPoolExecutor

    from core.model import StrategyMeta
    from core.strategies import crud

    db = tmp_path / "s.duckdb"
    store.migrate(db)
    source = (Path(__file__).parents[2] / "examples" / "sma_cross.py").read_text()
    with ThreadPoolExecutor(max_workers=4) as pool:
        saved = list(pool.map(lambda _: crud.save_by_name(
            db, meta=StrategyMeta(name="new_file"), source=source), range(4)))
    assert saved == [(saved[0][0], 1)] * 4
    assert [r.meta.name for r in crud.list_strategies(db)] == ["new_file"]


def test_an_idle_store_is_released_for_other_processes_by_one_closer_thread(
        tmp_path: Path) -> None:
    import subprocess
    import sys
    import threading

    db = tmp_path / "s.duckdb"
    store.migrate(db)
    before = threading.active_count()
    for _ in range(20):  # every connect() used to start a timer thread of its own
        with store.connect(db) as con:
            con.execute("SELECT 1").fetchone()
    assert threading.active_count() <= before + 1
    closer = store._ANCHOR._closer  # noqa: SLF001 - the one thread that closes idle anchors
    assert closer is not None
    closer.join(timeout=30)  # it ends once nothing is idle any more
    assert not closer.is_alive()
    other = subprocess.run(  # another process can open (lock) the file now
        [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()",
         str(db)], capture_output=True, text=True, timeout=60, check=False)
    assert other.returncode == 0, other.stderr
    with store.connect(db) as con:  # and this one opens it again
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_a_process_exits_with_a_connection_still_open(tmp_path: Path) -> None:
    """A connection nobody closed is released while the interpreter shuts down, when no thread
    can start any more: the process ends instead of waiting forever in Thread.start."""
    import subprocess
    import sys

    script = ("import sys\nfrom pathlib import Path\nfrom core import store\n"
              "db = Path(sys.argv[1])\nstore.migrate(db)\nheld = store.connect(db)\n"
              "held.__enter__().execute('SELECT 1').fetchone()\nprint('open')\n")
    try:
        done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "s.duckdb")],
                              capture_output=True, text=True, timeout=60, check=False,
                              cwd=Path(__file__).resolve().parents[2])
    except subprocess.TimeoutExpired:
        raise AssertionError("the process hung at exit with a store connection open") from None
    assert (done.returncode, done.stdout.strip()) == (0, "open"), done.stderr
