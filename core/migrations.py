"""The store's schema: numbered, idempotent migrations that core.store applies in order."""

from __future__ import annotations

# Each migration is (number, statements). Never edit a shipped one: add a new number.
MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (1, (
        "CREATE SEQUENCE IF NOT EXISTS strategies_id_seq START 1",
        """CREATE TABLE IF NOT EXISTS strategies (
            id BIGINT PRIMARY KEY DEFAULT nextval('strategies_id_seq'),
            name VARCHAR NOT NULL,
            description VARCHAR NOT NULL DEFAULT '',
            language VARCHAR NOT NULL DEFAULT 'python',
            author VARCHAR NOT NULL DEFAULT '',
            version_label VARCHAR NOT NULL DEFAULT '1.0',
            tags JSON NOT NULL DEFAULT '[]',
            timeframes JSON NOT NULL DEFAULT '[]',
            assets JSON NOT NULL DEFAULT '[]',
            dependencies JSON NOT NULL DEFAULT '[]',
            created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
            updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
            deleted_at TIMESTAMP
        )""",
        """CREATE TABLE IF NOT EXISTS strategy_versions (
            strategy_id BIGINT NOT NULL,
            version INTEGER NOT NULL,
            source VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            message VARCHAR NOT NULL DEFAULT '',
            valid BOOLEAN NOT NULL DEFAULT FALSE,
            issues JSON NOT NULL DEFAULT '[]',
            params JSON NOT NULL DEFAULT '[]',
            created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
            PRIMARY KEY (strategy_id, version)
        )""",
        """CREATE TABLE IF NOT EXISTS symbols (
            exchange VARCHAR NOT NULL,
            market VARCHAR NOT NULL,
            symbol VARCHAR NOT NULL,
            base VARCHAR NOT NULL DEFAULT '',
            quote VARCHAR NOT NULL DEFAULT '',
            tick_size DOUBLE,
            lot_step DOUBLE,
            min_notional DOUBLE,
            synthetic BOOLEAN NOT NULL DEFAULT FALSE,
            PRIMARY KEY (exchange, market, symbol)
        )""",
        """CREATE TABLE IF NOT EXISTS ohlcv (
            exchange VARCHAR NOT NULL,
            market VARCHAR NOT NULL,
            symbol VARCHAR NOT NULL,
            timeframe VARCHAR NOT NULL,
            ts TIMESTAMP NOT NULL,
            open DOUBLE NOT NULL,
            high DOUBLE NOT NULL,
            low DOUBLE NOT NULL,
            close DOUBLE NOT NULL,
            volume DOUBLE NOT NULL,
            PRIMARY KEY (exchange, market, symbol, timeframe, ts)
        )""",
        """CREATE TABLE IF NOT EXISTS funding_rates (
            exchange VARCHAR NOT NULL,
            symbol VARCHAR NOT NULL,
            ts TIMESTAMP NOT NULL,
            rate DOUBLE NOT NULL,
            PRIMARY KEY (exchange, symbol, ts)
        )""",
        "CREATE SEQUENCE IF NOT EXISTS backtests_id_seq START 1",
        """CREATE TABLE IF NOT EXISTS backtests (
            id BIGINT PRIMARY KEY DEFAULT nextval('backtests_id_seq'),
            run_hash VARCHAR NOT NULL,
            strategy_id BIGINT,
            strategy_version INTEGER,
            strategy_name VARCHAR NOT NULL DEFAULT '',
            config JSON NOT NULL,
            data_sha VARCHAR NOT NULL DEFAULT '',
            status VARCHAR NOT NULL,
            error VARCHAR NOT NULL DEFAULT '',
            progress DOUBLE NOT NULL DEFAULT 0,
            log VARCHAR NOT NULL DEFAULT '',
            created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
            started_at TIMESTAMP,
            finished_at TIMESTAMP,
            duration_s DOUBLE
        )""",
        "CREATE INDEX IF NOT EXISTS backtests_hash_idx ON backtests (run_hash)",
        """CREATE TABLE IF NOT EXISTS backtest_metrics (
            backtest_id BIGINT NOT NULL,
            name VARCHAR NOT NULL,
            value DOUBLE,
            kind VARCHAR NOT NULL DEFAULT 'all',
            PRIMARY KEY (backtest_id, name, kind)
        )""",
        """CREATE TABLE IF NOT EXISTS trades (
            backtest_id BIGINT NOT NULL,
            n INTEGER NOT NULL,
            size DOUBLE NOT NULL,
            entry_time TIMESTAMP NOT NULL,
            exit_time TIMESTAMP NOT NULL,
            entry_price DOUBLE NOT NULL,
            exit_price DOUBLE NOT NULL,
            pnl DOUBLE NOT NULL,
            return_pct DOUBLE NOT NULL,
            commission DOUBLE NOT NULL DEFAULT 0,
            entry_bar INTEGER NOT NULL DEFAULT 0,
            exit_bar INTEGER NOT NULL DEFAULT 0,
            tag VARCHAR NOT NULL DEFAULT '',
            exit_reason VARCHAR NOT NULL DEFAULT '',
            PRIMARY KEY (backtest_id, n)
        )""",
        """CREATE TABLE IF NOT EXISTS equity (
            backtest_id BIGINT NOT NULL,
            ts TIMESTAMP NOT NULL,
            equity DOUBLE NOT NULL,
            PRIMARY KEY (backtest_id, ts)
        )""",
        """CREATE TABLE IF NOT EXISTS artifacts (
            backtest_id BIGINT NOT NULL,
            kind VARCHAR NOT NULL,
            content BLOB NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
            PRIMARY KEY (backtest_id, kind)
        )""",
    )),
    # 2: market data catalogue (issue #5): symbol provenance, coverage view, quality, downloads.
    (2, (
        "ALTER TABLE symbols ADD COLUMN IF NOT EXISTS source VARCHAR DEFAULT ''",
        "ALTER TABLE symbols ADD COLUMN IF NOT EXISTS ccxt_symbol VARCHAR DEFAULT ''",
        "ALTER TABLE symbols ADD COLUMN IF NOT EXISTS active BOOLEAN DEFAULT TRUE",
        "ALTER TABLE symbols ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP",
        """CREATE OR REPLACE VIEW datasets AS
            SELECT exchange, market, symbol, timeframe, min(ts) AS first_ts, max(ts) AS last_ts,
                   count(*) AS bars,
                   CAST(date_diff('minute', min(ts), max(ts)) / CASE timeframe
                        WHEN '1m' THEN 1 WHEN '5m' THEN 5 WHEN '15m' THEN 15 WHEN '30m' THEN 30
                        WHEN '1h' THEN 60 WHEN '4h' THEN 240 WHEN '1d' THEN 1440
                        WHEN '1w' THEN 10080 ELSE 1 END + 1 - count(*) AS BIGINT) AS missing_bars
            FROM ohlcv GROUP BY exchange, market, symbol, timeframe""",
        """CREATE TABLE IF NOT EXISTS quality_reports (
            exchange VARCHAR NOT NULL,
            market VARCHAR NOT NULL,
            symbol VARCHAR NOT NULL,
            timeframe VARCHAR NOT NULL,
            checked_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
            ok BOOLEAN NOT NULL,
            summary VARCHAR NOT NULL DEFAULT '',
            report JSON NOT NULL DEFAULT '{}',
            PRIMARY KEY (exchange, market, symbol, timeframe)
        )""",
        """CREATE TABLE IF NOT EXISTS download_state (
            exchange VARCHAR NOT NULL,
            market VARCHAR NOT NULL,
            symbol VARCHAR NOT NULL,
            timeframe VARCHAR NOT NULL,
            next_since TIMESTAMP,
            status VARCHAR NOT NULL DEFAULT '',
            updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
            PRIMARY KEY (exchange, market, symbol, timeframe)
        )""",
    )),
    # 4: job queue ownership (issue #4): which process runs or queued a run, so a restart can
    # tell orphaned runs (owner gone -> interrupted) from runs another live process owns.
    (4, (
        "ALTER TABLE backtests ADD COLUMN IF NOT EXISTS owner_pid INTEGER",
    )),
    # 6: crypto broker (issue #7): the P&L split of each trade, the margin series of perp runs
    # (margin used, distance to liquidation) and every risk rule that fired.
    (6, (
        "ALTER TABLE trades ADD COLUMN IF NOT EXISTS price_pnl DOUBLE DEFAULT 0",
        "ALTER TABLE trades ADD COLUMN IF NOT EXISTS fees DOUBLE DEFAULT 0",
        "ALTER TABLE trades ADD COLUMN IF NOT EXISTS funding DOUBLE DEFAULT 0",
        "ALTER TABLE trades ADD COLUMN IF NOT EXISTS slippage_cost DOUBLE DEFAULT 0",
        """CREATE TABLE IF NOT EXISTS margin_series (
            backtest_id BIGINT NOT NULL,
            ts TIMESTAMP NOT NULL,
            position_coins DOUBLE NOT NULL,
            margin_used_usdt DOUBLE NOT NULL,
            liq_distance DOUBLE,
            PRIMARY KEY (backtest_id, ts)
        )""",
        """CREATE TABLE IF NOT EXISTS risk_events (
            backtest_id BIGINT NOT NULL,
            n INTEGER NOT NULL,
            ts TIMESTAMP NOT NULL,
            rule VARCHAR NOT NULL,
            detail VARCHAR NOT NULL DEFAULT '',
            PRIMARY KEY (backtest_id, n)
        )""",
    )),
    (7, (
        """CREATE TABLE IF NOT EXISTS plots (
            backtest_id BIGINT NOT NULL,
            name VARCHAR NOT NULL,
            ts TIMESTAMP NOT NULL,
            value DOUBLE NOT NULL,
            PRIMARY KEY (backtest_id, name, ts)
        )""",
    )),
    # 8: reliability (issue #18): the owner of a run is an instance token (core.runs.instance), not
    # a PID, which a container reuses on every start.
    (8, (
        "ALTER TABLE backtests ADD COLUMN IF NOT EXISTS owner_token VARCHAR",
    )),
    # 19: studies (issue #19): parameter sweeps and their trials, one compact row per trial
    # (headline metrics as columns, the rest as JSON, daily returns as a list for DSR/PBO).
    (19, (
        "CREATE SEQUENCE IF NOT EXISTS studies_id_seq START 1",
        """CREATE TABLE IF NOT EXISTS studies (
            id BIGINT PRIMARY KEY DEFAULT nextval('studies_id_seq'),
            kind VARCHAR NOT NULL DEFAULT 'sweep',
            strategy_id BIGINT NOT NULL,
            strategy_version INTEGER NOT NULL,
            strategy_name VARCHAR NOT NULL DEFAULT '',
            strategy_sha VARCHAR NOT NULL,
            data_sha VARCHAR NOT NULL,
            config JSON NOT NULL,
            space JSON NOT NULL,
            constraints JSON NOT NULL DEFAULT '[]',
            method VARCHAR NOT NULL,
            objective VARCHAR NOT NULL,
            direction VARCHAR NOT NULL DEFAULT 'max',
            min_trades INTEGER NOT NULL DEFAULT 0,
            max_trials INTEGER NOT NULL,
            time_budget_s DOUBLE,
            seed INTEGER NOT NULL DEFAULT 0,
            status VARCHAR NOT NULL DEFAULT 'queued',
            error VARCHAR NOT NULL DEFAULT '',
            owner_pid INTEGER,
            return_days JSON NOT NULL DEFAULT '[]',
            created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
            finished_at TIMESTAMP
        )""",
        """CREATE TABLE IF NOT EXISTS trials (
            study_id BIGINT NOT NULL,
            n INTEGER NOT NULL,
            params_key VARCHAR NOT NULL,
            params JSON NOT NULL,
            trial_hash VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            error VARCHAR NOT NULL DEFAULT '',
            objective DOUBLE,
            trades INTEGER,
            total_return DOUBLE,
            sharpe_ratio DOUBLE,
            max_drawdown DOUBLE,
            metrics JSON NOT NULL DEFAULT '{}',
            daily_returns DOUBLE[],
            run_id BIGINT,
            reused BOOLEAN NOT NULL DEFAULT FALSE,
            created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
            PRIMARY KEY (study_id, n),
            UNIQUE (study_id, params_key)
        )""",
        "CREATE INDEX IF NOT EXISTS trials_hash ON trials (trial_hash)",
    )),
    # 20: walk-forward (issue #19): a walk-forward is a study of kind 'walkforward'; its window
    # lengths, and per window the in-sample sweep (a study of kind 'wf_window'), the chosen
    # parameters with their in-sample figures, and the out-of-sample run (a normal run record).
    (20, (
        """CREATE TABLE IF NOT EXISTS walkforwards (
            study_id BIGINT PRIMARY KEY,
            is_len VARCHAR NOT NULL,
            oos_len VARCHAR NOT NULL,
            step VARCHAR NOT NULL,
            anchored BOOLEAN NOT NULL DEFAULT FALSE
        )""",
        """CREATE TABLE IF NOT EXISTS walkforward_windows (
            study_id BIGINT NOT NULL,
            k INTEGER NOT NULL,
            is_start TIMESTAMP NOT NULL,
            is_end TIMESTAMP NOT NULL,
            oos_start TIMESTAMP NOT NULL,
            oos_end TIMESTAMP NOT NULL,
            is_study_id BIGINT NOT NULL,
            status VARCHAR NOT NULL DEFAULT 'pending',
            error VARCHAR NOT NULL DEFAULT '',
            params JSON,
            is_metrics JSON,
            is_daily_returns DOUBLE[],
            oos_run_id BIGINT,
            oos_metrics JSON,
            PRIMARY KEY (study_id, k)
        )""",
    )),
]
LATEST_SCHEMA = max(number for number, _ in MIGRATIONS)
