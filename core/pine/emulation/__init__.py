"""CHILD SIDE: TradingView's broker emulator, the strategy.* namespace and the ta.* library, behind
core.pine.runtime."""
