"""First-start work shared by `make setup`, the app and the CLI: schema, sample data, recovery
of runs whose process died (they become interrupted), metric rows older runs lack, and a sweep
of leftovers — done by whoever is about to write (the owner). Readers only check the store
(check_readable) and never write. The home is made 0700 and the store 0600 (another local user
or PineOpt instance must not read it)."""

from __future__ import annotations

import logging

from core.runs import housekeeping, jobs
from core.market import catalogue as market_data
from core import store
from core.analytics import run_bundle
from core.errors import PineOptError
from core.settings import Settings

_log = logging.getLogger("pineopt.bootstrap")


def init_store(settings: Settings) -> None:
    """Migrate the DuckDB file, load the synthetic sample data if absent, mark runs left
    running by a dead process as interrupted and sweep stale job folders and progress files.
    Idempotent."""
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    store.make_private(settings.home)
    store.migrate(settings.db_path)
    store.make_private(settings.db_path)
    market_data.ensure_sample_data(settings.db_path)
    jobs.recover_interrupted(settings.db_path)
    for run_id in run_bundle.runs_missing_side_metrics(settings.db_path):
        try:  # runs stored before a side's metrics existed; reads never write them
            run_bundle.store_missing_metrics(settings, run_id)
        except PineOptError:
            _log.exception("could not backfill the metrics of run %s", run_id)
    try:
        housekeeping.sweep(settings)
    except OSError:  # leftovers are not worth failing a start for; the next sweep retries
        _log.exception("sweeping leftovers failed")


def check_readable(settings: Settings) -> None:
    """Raise PineOptError unless the store exists with this PineOpt's schema. Writes nothing:
    read-only commands use it instead of init_store."""
    version = store.schema_version(settings.db_path)
    if version == 0:
        raise PineOptError(f"There is no PineOpt store at {settings.db_path} yet: run "
                           "`pineopt init` (or start the app) to create it, or set PINEOPT_HOME "
                           "to the folder that holds yours.")
    if version < store.LATEST_SCHEMA:
        raise PineOptError(f"The store {settings.db_path} has schema version {version}; this "
                           f"PineOpt needs {store.LATEST_SCHEMA}. Run `pineopt init` (or start "
                           "the app) once to upgrade it.")
    if version > store.LATEST_SCHEMA:
        raise PineOptError(f"The store {settings.db_path} was written by a newer PineOpt (schema "
                           f"{version}, this one knows {store.LATEST_SCHEMA}); upgrade PineOpt.")
