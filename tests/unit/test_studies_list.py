"""`pineopt studies list` shows trials run out of what the study can run: a grid's size when
it is below the trial budget."""

from __future__ import annotations

import json
import re

import pytest

import cli
from core.model import BacktestConfig, StrategyMeta
from core.settings import Settings
from core.strategies import crud as strategies


def test_studies_list_shows_a_grid_out_of_its_size(settings: Settings, sma_source: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A 6-point grid (budget 1000) reads 0/6; a random search keeps its budget."""
    from core.studies import sweep

    sid, _v = strategies.save_by_name(settings.db_path, meta=StrategyMeta(name="sma"),
                                      source=sma_source)
    config = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01",
                            end="2024-01-31")
    grid = sweep.create(settings, strategy_id=sid, config=config,
                        specs={"fast": "5:15:5", "slow": "20:40:20"})
    drawn = sweep.create(settings, strategy_id=sid, config=config, method="random",
                         max_trials=4, specs={"fast": "5:15:5", "slow": "20:40:20"})
    assert cli.main(["studies", "list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert "0/6" in rows[str(grid)] and "0/4" in rows[str(drawn)]
    # which market and dates the trials run on (the list did not say), created to the second
    assert "BTCUSDT spot 1h · 2024-01-01 → 2024-01-31" in out.splitlines()[1]
    assert re.search(r" \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", out.splitlines()[1])
    assert cli.main(["studies", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {s["id"]: s["planned_trials"] for s in listed} == {grid: 6, drawn: 4}
    assert all(s["config"]["symbol"] == "BTCUSDT" and s["config"]["market"] == "spot"
               for s in listed)


def test_a_walk_forward_is_listed_as_one_without_a_trial_count(
        settings: Settings, sma_source: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Its trials belong to its windows' studies (listed beside it): it read '0/200'."""
    from core.studies import walkforward

    sid, _v = strategies.save_by_name(settings.db_path, meta=StrategyMeta(name="sma"),
                                      source=sma_source)
    wf = walkforward.create(settings, strategy_id=sid, config=BacktestConfig(
        symbol="BTCUSDT", timeframe="1h", start="2024-01-01", end="2024-03-31"),
        specs={"fast": "5,10"}, is_len="30d", oos_len="15d", method="grid", max_trials=200)
    assert cli.main(["studies", "list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.split()[0] == str(wf))
    assert "grid walk-forward" in row and " — " in row and "/200" not in row
