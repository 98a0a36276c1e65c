"""Analytics of stored runs: metric definitions (one each), TradingView's trade statistics,
backtesting.py parity, and one run gathered for reports."""
