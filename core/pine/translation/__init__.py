"""HOST SIDE: Pine syntax tree -> a readable backtesting.py strategy (api.translate is the entry
point)."""
