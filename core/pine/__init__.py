"""Pine Script strategies: syntax/ (lexer, parser: host), translation/ (to Python: host;
core.pine.translation.api.translate is the entry), runtime.py (what generated strategies import) and
emulation/ (TradingView's broker and ta.*): CHILD SIDE."""
