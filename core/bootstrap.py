"""First-start work shared by `make setup`, the app and the CLI: schema and sample data."""

from __future__ import annotations

from core import market_data, store
from core.settings import Settings


def init_store(settings: Settings) -> None:
    """Migrate the DuckDB file and load the synthetic sample data if absent. Idempotent."""
    settings.home.mkdir(parents=True, exist_ok=True)
    store.migrate(settings.db_path)
    market_data.ensure_sample_data(settings.db_path)
