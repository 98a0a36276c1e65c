"""Pine strategies through the whole pipeline: translate -> validate -> sandbox -> store."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import pytest

from core.pine.translation import api as pine
from core.runs import pine_run, service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from core.settings import Settings
from tests.integration.test_spine_cli import pineopt

REPO = Path(__file__).resolve().parents[2]


def test_cli_pine_run_uses_strategy_properties_and_shorts(home: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = REPO / "examples" / "pine" / "supertrend.pine"
    done = pineopt("backtest", str(path), "--symbol", "BTCUSDT", "--timeframe", "4h",
                   "--start", "2024-01-01", "--json", home=home)
    assert done.returncode == 0, done.stderr + done.stdout
    out = json.loads(done.stdout)
    assert out["status"] == "completed" and out["trades"] > 0
    run = runs.get_run(home / "pineopt.duckdb", out["run_id"])
    props = pine.translate(path.read_text()).strategy_settings
    assert run.config.cash_usdt == props["initial_capital"]  # strategy() is the default
    assert run.config.params["syminfo_mintick"] == pytest.approx(0.1)  # from the catalogue
    trades = runs.run_trades(home / "pineopt.duckdb", out["run_id"])
    assert (trades["size"] < 0).any() and (trades["size"] > 0).any()  # Pine shorts on spot too
    shorts = int((trades["size"] < 0).sum())
    # ... which a spot account could not do: the run says so (a Python run's are refused)
    assert [w for w in out["warnings"] if "on spot data without margin" in w] == [
        f"{shorts} short trades were taken on spot data without margin: a Pine strategy sells "
        "short on any symbol, as on TradingView, but a spot account cannot sell what it does "
        "not hold. Run it on perp data (Backtest page: Data; CLI: --market perp) for shorts an "
        "exchange would take, with their funding."]
    text = pineopt("backtest", str(path), "--symbol", "BTCUSDT", "--timeframe", "4h",
                   "--start", "2024-01-01", home=home)  # the same run, reused: plain text
    assert f"warning: {shorts} short trades were taken on spot data" in text.stdout
    # the Results page shows it above everything else
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PINEOPT_HOME", str(home))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    at.session_state["selected_run_id"] = out["run_id"]
    at.run()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(f"{shorts} short trades were taken on spot data" in w.value for w in at.warning)


def test_user_capital_overrides_strategy_properties(settings: Settings) -> None:
    source = (REPO / "examples" / "pine" / "macd_strategy.pine").read_text()
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="macd"), source=source,
                             language=Language.PINE)
    config = BacktestConfig(symbol="ETHUSDT", timeframe="4h", start="2024-01-01",
                            end="2024-06-30", cash_usdt=50_000.0)
    run = runs.run_sync(settings, strategy_id=sid, config=config)
    assert run.status is RunStatus.COMPLETED, run.error
    equity = runs.run_equity(settings.db_path, run.id)
    assert equity.iloc[0] == pytest.approx(50_000.0)


def test_every_pine_example_runs_through_the_host_checks(settings: Settings) -> None:
    """Each gallery example, on its own strategy() properties, is stored as completed: the
    host's checks accept what the sandbox returned (channel_breakout's first order is a market
    order from the first bar, whose equity once showed the position a bar early)."""
    config = BacktestConfig(symbol="BTCUSDT", timeframe="4h", start="2022-01-01",
                            end="2022-12-31")
    failed = {}
    for path in sorted((REPO / "examples" / "pine").glob("*.pine")):
        source = path.read_text()
        sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name=path.stem),
                                 source=source, language=Language.PINE)
        run = runs.run_sync(settings, strategy_id=sid, config=BacktestConfig(**{
            **config.to_dict(), **pine_run.strategy_defaults(source)}))
        if run.status is not RunStatus.COMPLETED:
            failed[path.stem] = run.error
        elif path.stem == "channel_breakout":
            equity = runs.run_equity(settings.db_path, run.id)
            trades = runs.run_trades(settings.db_path, run.id)
            assert equity.iloc[0] == run.config.cash_usdt != equity.iloc[1]
            assert trades["entry_bar"].iloc[0] == 1
    assert not failed, failed
    assert len(list((REPO / "examples" / "pine").glob("*.pine"))) == 20


def test_strategy_defaults_reads_strategy_properties() -> None:
    source = (REPO / "examples" / "pine" / "supertrend.pine").read_text()
    props = pine.translate(source).strategy_settings
    assert pine_run.strategy_defaults(source) == {"cash_usdt": props["initial_capital"],
                                                  "commission": props["commission"]}
    assert pine_run.strategy_defaults("strategy(") == {}


EMA_CROSS = """//@version=5
strategy("EMA cross both ways", default_qty_type=strategy.percent_of_equity,
     default_qty_value=100)
fast = ta.ema(close, 12)
slow = ta.ema(close, 26)
if ta.crossover(fast, slow)
    strategy.entry("Long", strategy.long)
if ta.crossunder(fast, slow)
    strategy.entry("Short", strategy.short)
if strategy.position_size > 0
    strategy.exit("TP/SL long", "Long", stop=strategy.position_avg_price * 0.98,
         limit=strategy.position_avg_price * 1.04)
if strategy.position_size < 0
    strategy.exit("TP/SL short", "Short", stop=strategy.position_avg_price * 1.02,
         limit=strategy.position_avg_price * 0.96)
"""


@pytest.mark.parametrize("market", ["spot", "perp"])
def test_percent_of_equity_long_short_with_exits_completes(home: Path, tmp_path: Path,
                                                           market: str) -> None:
    # Issue 14: this script stopped with "MirrorError: bar 619" on spot 1h and on a 1x perp,
    # because the engine refused a reversal sized at 100 % of equity that filled at an open above
    # the signal close. TradingView (v5: margin_long/margin_short 0 = no margin simulation) fills
    # it; the engine mirrors Pine fills and must not refuse them.
    path = tmp_path / "ema_cross.pine"
    path.write_text(EMA_CROSS)
    done = pineopt("backtest", str(path), "--symbol", "BTCUSDT", "--timeframe", "1h",
                   "--market", market, "--leverage", "1", "--start", "2024-01-01",
                   "--end", "2024-06-30", "--commission", "0.001", "--json", home=home)
    assert done.returncode == 0, done.stderr + done.stdout
    out = json.loads(done.stdout)
    assert out["status"] == "completed"
    assert any("on spot data without margin" in w for w in out["warnings"]) == (market == "spot")
    db = home / "pineopt.duckdb"
    trades = runs.run_trades(db, out["run_id"])
    equity = runs.run_equity(db, out["run_id"])
    closes = runs.run_equity(db, out["run_id"]).index  # bar times of the run
    assert (trades["size"] < 0).sum() > 10 and (trades["size"] > 0).sum() > 10
    # TradingView R11: a market entry is sized at the signal bar's close with that bar's equity,
    # qty = equity * 100 % / (close * (1 + commission %)), floored to the quantity step (the
    # symbol's lot step from the catalogue). Check
    # the trades opened flat (a reversal's entry closes the old trade at the same fill first).
    from core.market import catalogue as market_data
    bars = market_data.load_ohlcv(db, exchange="sample", market=market, symbol="BTCUSDT",
                                  timeframe="1h", start="2024-01-01", end="2024-06-30")
    assert list(bars.index) == list(closes)
    lot = market_data.get_symbol(db, "sample", market, "BTCUSDT").lot_step
    assert lot == pytest.approx(1e-5)
    if market == "perp":
        return  # perp equity includes funding, which TradingView (and strategy.equity) has not
    flat = trades[~trades["entry_bar"].isin(trades["exit_bar"])]
    assert len(flat) > 5
    for _, trade in flat.iterrows():
        signal = int(trade["entry_bar"]) - 1
        want = equity.iloc[signal] / (bars["Close"].iloc[signal] * 1.001)
        assert abs(trade["size"]) == pytest.approx(math.floor(want / lot) * lot, abs=1e-9)


def test_run_settings_a_pine_run_would_ignore_are_refused_with_the_pine_equivalent(
        settings: Settings) -> None:
    # Issue 14: a 1 % stop-loss, a 2 % drawdown halt and 50 bps slippage gave a Pine run the
    # same result as without them. TradingView takes these from the script, so they are refused.
    from core.errors import ConfigError
    from core.model import CostModel, RiskRules

    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="ema"), source=EMA_CROSS,
                             language=Language.PINE)
    config = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01",
                            end="2024-01-31", costs=CostModel(slippage_bps=50.0),
                            risk=RiskRules(stop_loss_pct=0.01, max_drawdown_halt=0.02))
    with pytest.raises(ConfigError) as info:
        runs.request_run(settings, strategy_id=sid, config=config)
    message = str(info.value)
    assert "--slippage-bps 50" in message and "strategy(slippage=N)" in message
    assert "--stop-loss 0.01" in message and "strategy.exit(stop=...)" in message
    assert "--max-drawdown-halt 0.02" in message and "strategy.risk.max_drawdown" in message
    assert runs.list_runs(settings.db_path) == []  # nothing was stored


def test_strategy_slippage_applies_in_full_beyond_the_bar_through_the_sandbox(home: Path,
                                                                              tmp_path: Path
                                                                              ) -> None:
    # Issue 14, D5: TradingView moves market and stop fills by strategy(slippage=N) ticks in
    # full, even beyond the bar's high or low. The host's fill check allows exactly N ticks
    # beyond the bar (core.runs.pine_run.mirror_slippage), so the run completes with such fills.
    path = tmp_path / "ema_cross_slipped.pine"
    path.write_text(EMA_CROSS.replace("default_qty_value=100)",
                                      "default_qty_value=100, slippage=200)"))
    done = pineopt("backtest", str(path), "--symbol", "BTCUSDT", "--timeframe", "1h",
                   "--start", "2024-01-01", "--end", "2024-03-31", "--json", home=home)
    assert done.returncode == 0, done.stderr + done.stdout
    out = json.loads(done.stdout)
    assert out["status"] == "completed", out
    db = home / "pineopt.duckdb"
    trades = runs.run_trades(db, out["run_id"])
    from core.market import catalogue as market_data
    bars = market_data.load_ohlcv(db, exchange="sample", market="spot", symbol="BTCUSDT",
                                  timeframe="1h", start="2024-01-01", end="2024-03-31")
    slip = 200 * runs.get_run(db, out["run_id"]).config.params["syminfo_mintick"]
    beyond = []
    for side in ("entry", "exit"):
        bar = bars.iloc[trades[f"{side}_bar"].to_numpy()]
        price = trades[f"{side}_price"].to_numpy()
        over = (price - bar["High"].to_numpy()).clip(min=0) + (
            bar["Low"].to_numpy() - price).clip(min=0)
        beyond.extend(over.tolist())
    assert max(beyond) > 0  # some fills land outside their bar, as on TradingView
    assert max(beyond) <= slip * (1 + 1e-9)  # never more than the strategy's slippage


HOLD_PINE = """//@version=5
strategy("hold to the end", overlay=true)
if bar_index == 10
    strategy.entry("L", strategy.long)
"""


def test_a_pine_trade_still_open_at_the_end_stays_open(home: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # TradingView keeps the position held at the end open: the trade list says open (not
    # end_of_data), its P&L is Open P&L beside Net profit, and it is not a closed trade
    path = tmp_path / "hold.pine"
    path.write_text(HOLD_PINE)
    done = pineopt("backtest", str(path), "--symbol", "BTCUSDT", "--timeframe", "4h",
                   "--start", "2024-01-01", "--end", "2024-03-31", "--json", home=home)
    assert done.returncode == 0, done.stderr + done.stdout
    run_id = json.loads(done.stdout)["run_id"]
    db = home / "pineopt.duckdb"
    trades = runs.run_trades(db, run_id)
    values = runs.run_metrics(db, run_id)
    equity = runs.run_equity(db, run_id)
    assert list(trades["exit_reason"]) == ["open"]
    assert values["total_open_trades"] == 1 and values["total_trades"] == 0
    assert math.isnan(values["win_rate"]) and values["net_profit"] == 0  # no closed trade: "—"
    assert values["open_pnl"] == pytest.approx(float(trades["pnl"].iloc[0]))
    assert values["open_pnl"] == pytest.approx(equity.iloc[-1] - equity.iloc[0], rel=1e-9)
    # the Results page says so: the trade list's caption and Open P&L next to Net profit
    from streamlit.testing.v1 import AppTest

    from core.analytics import trade_stats
    monkeypatch.setenv("PINEOPT_HOME", str(home))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    at.session_state["selected_run_id"] = run_id
    at.run()
    at.switch_page("app_pages/results.py").run()
    at.session_state["results_tab"] = "Trades"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("1 of 1 trades (1 still open at the end: exit reason open)" in c.value
               for c in at.caption)
    at.session_state["results_tab"] = "Metrics"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    summary = "".join(e.proto.body for e in at.get("html"))
    labels = [trade_stats.describe(n).label for n in ("net_profit", "net_profit_pct", "open_pnl")]
    at_ = [summary.index(f">{html.escape(label)}<") for label in labels]
    assert at_ == sorted(at_)  # Net profit, Net profit %, then Open P&L
    assert trade_stats.format_value("open_pnl", values["open_pnl"]) in summary
