"""First-start work shared by `make setup`, the app and the CLI: schema, sample data, and
recovery of runs whose process died (they become interrupted). The home is made 0700 and the
store 0600 (another local user or PineOpt instance must not read it)."""

from __future__ import annotations

from core import jobs, market_data, store
from core.settings import Settings


def init_store(settings: Settings) -> None:
    """Migrate the DuckDB file, load the synthetic sample data if absent, and mark runs left
    running by a dead process as interrupted. Idempotent."""
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    store.make_private(settings.home)
    store.migrate(settings.db_path)
    store.make_private(settings.db_path)
    market_data.ensure_sample_data(settings.db_path)
    jobs.recover_interrupted(settings.db_path)
