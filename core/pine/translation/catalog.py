"""What the translator knows about Pine's built-ins: signatures, series, constants.

Argument lists are Pine's parameter names in Pine's order, so positional and named arguments
can be normalised at translation time.
"""

from __future__ import annotations

import keyword

TA_SIGNATURES: dict[str, tuple[str, ...]] = {
    "sma": ("source", "length"), "ema": ("source", "length"), "rma": ("source", "length"),
    "wma": ("source", "length"), "vwma": ("source", "length"), "hma": ("source", "length"),
    "rsi": ("source", "length"), "macd": ("source", "fastlen", "slowlen", "siglen"),
    "stoch": ("source", "high", "low", "length"), "tr": ("handle_na",), "atr": ("length",),
    "bb": ("series", "length", "mult"), "bbw": ("series", "length", "mult"),
    "kc": ("series", "length", "mult", "useTrueRange"), "cci": ("source", "length"),
    "mfi": ("series", "length"), "obv": (), "mom": ("source", "length"),
    "change": ("source", "length"), "roc": ("source", "length"),
    "highest": ("source", "length"), "lowest": ("source", "length"),
    "highestbars": ("source", "length"), "lowestbars": ("source", "length"),
    "crossover": ("source1", "source2"), "crossunder": ("source1", "source2"),
    "cross": ("source1", "source2"), "stdev": ("source", "length", "biased"),
    "variance": ("source", "length", "biased"), "dmi": ("diLength", "adxSmoothing"),
    "sar": ("start", "inc", "max"), "supertrend": ("factor", "atrPeriod"),
    "pivothigh": ("source", "leftbars", "rightbars"),
    "pivotlow": ("source", "leftbars", "rightbars"),
    "valuewhen": ("condition", "source", "occurrence"), "barssince": ("condition",),
    "cum": ("source",), "linreg": ("source", "length", "offset"),
    "percentrank": ("source", "length"), "vwap": ("source",),
    "rising": ("source", "length"), "falling": ("source", "length"),
}
# ta.* that read the current bar: generated code passes it second, ta_atr(st[1], bar, 14)
BAR_FUNCTIONS = frozenset({
    'atr', 'dmi', 'highest', 'highestbars', 'kc', 'lowest', 'lowestbars', 'mfi', 'obv',
    'pivothigh', 'pivotlow', 'sar', 'supertrend', 'tr', 'vwap', 'vwma',
})
TA_VARIABLES = frozenset({"tr", "obv", "vwap"})  # ta.tr etc. used without parentheses
BOOL_TA = frozenset({"crossover", "crossunder", "cross", "rising", "falling"})

_ORDER = ("id", "direction", "qty", "limit", "stop", "oca_name", "oca_type", "comment",
          "alert_message", "when", "disable_alert")
STRATEGY_SIGNATURES: dict[str, tuple[str, ...]] = {
    "entry": _ORDER, "order": _ORDER,
    "close": ("id", "comment", "qty", "qty_percent", "alert_message", "immediately", "when",
              "disable_alert"),
    "close_all": ("comment", "alert_message", "immediately", "when", "disable_alert"),
    "exit": ("id", "from_entry", "qty", "qty_percent", "profit", "limit", "loss", "stop",
             "trail_price", "trail_points", "trail_offset", "oca_name", "comment",
             "comment_profit", "comment_loss", "comment_trailing", "alert_message",
             "alert_profit", "alert_loss", "alert_trailing", "when", "disable_alert"),
    "cancel": ("id", "when"), "cancel_all": ("when",),
    "risk.allow_entry_in": ("value",), "risk.max_intraday_filled_orders": ("count",
                                                                           "alert_message"),
    "risk.max_intraday_loss": ("value", "type", "alert_message"),
    "risk.max_drawdown": ("value", "type", "alert_message"),
    "risk.max_position_size": ("contracts",), "risk.max_cons_loss_days": ("count",
                                                                          "alert_message"),
}
TRADE_FIELDS = frozenset({"entry_price", "exit_price", "entry_bar_index", "exit_bar_index",
                          "size", "profit", "commission", "entry_id", "exit_id"})
DROPPED_ARGS = frozenset({"comment", "alert_message", "disable_alert", "comment_profit",
                          "comment_loss", "comment_trailing", "alert_profit", "alert_loss",
                          "alert_trailing"})
STRATEGY_VARIABLES = frozenset({
    "position_size", "position_avg_price", "position_entry_name", "equity", "netprofit",
    "openprofit", "grossprofit", "grossloss", "closedtrades", "opentrades", "wintrades",
    "losstrades", "eventrades", "initial_capital", "long", "short", "fixed", "cash",
    "percent_of_equity", "direction.all", "direction.long", "direction.short", "oca.none",
    "oca.cancel", "oca.reduce"})
SETTING_CONSTANTS = {
    "strategy.fixed": "fixed", "strategy.cash": "cash",
    "strategy.percent_of_equity": "percent_of_equity",
    "strategy.commission.percent": "percent",
    "strategy.commission.cash_per_contract": "cash_per_contract",
    "strategy.commission.cash_per_order": "cash_per_order",
    "strategy.direction.all": "all", "strategy.direction.long": "long",
    "strategy.direction.short": "short", "strategy.long": "long", "strategy.short": "short",
    "strategy.oca.none": "none", "strategy.oca.cancel": "cancel", "strategy.oca.reduce": "reduce",
    "currency.NONE": "NONE", "currency.USD": "USD", "currency.USDT": "USDT",
    "format.price": "price", "format.volume": "volume", "format.percent": "percent",
    "scale.right": "right", "scale.left": "left", "scale.none": "none",
}
INPUT_SIGNATURES: dict[str, tuple[str, ...]] = {
    "": ("defval", "title", "tooltip", "inline", "group"),
    "int": ("defval", "title", "minval", "maxval", "step", "tooltip", "inline", "group",
            "confirm", "options"),
    "float": ("defval", "title", "minval", "maxval", "step", "tooltip", "inline", "group",
              "confirm", "options"),
    "bool": ("defval", "title", "tooltip", "inline", "group", "confirm"),
    "string": ("defval", "title", "options", "tooltip", "inline", "group", "confirm"),
    "source": ("defval", "title", "tooltip", "inline", "group"),
    "timeframe": ("defval", "title", "options", "tooltip", "inline", "group", "confirm"),
    "session": ("defval", "title", "options", "tooltip", "inline", "group", "confirm"),
    "price": ("defval", "title", "tooltip", "inline", "group", "confirm"),
    "time": ("defval", "title", "tooltip", "inline", "group", "confirm"),
    "symbol": ("defval", "title", "tooltip", "inline", "group", "confirm"),
    "color": ("defval", "title", "tooltip", "inline", "group", "confirm"),
}
BAR_SERIES = frozenset({"open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4",
                        "hlcc4", "time", "time_close", "bar_index"})
CALENDAR = frozenset({"year", "month", "dayofmonth", "dayofweek", "hour", "minute", "second",
                      "weekofyear"})
IGNORED_CALLS = frozenset({
    "plot", "plotshape", "plotchar", "plotarrow", "plotcandle", "plotbar", "bgcolor", "barcolor",
    "fill", "hline", "alertcondition", "alert", "max_bars_back", "runtime.error", "log.info",
    "log.warning", "log.error"})
DRAWING_NAMESPACES = frozenset({"label", "line", "box", "table", "linefill", "polyline", "color",
                                "chart"})
COLOR_NAMES = frozenset({"aqua", "black", "blue", "fuchsia", "gray", "green", "lime", "maroon",
                         "navy", "olive", "orange", "purple", "red", "silver", "teal", "white",
                         "yellow"})
STRATEGY_ATTRIBUTES = frozenset({"data", "position", "buy", "sell", "init", "next", "equity",
                                 "trades", "closed_trades", "orders", "I", "script", "pine"})
PY_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
