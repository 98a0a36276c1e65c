"""Dask worker preload (`--preload core.executors.preload`): join only with a working sandbox.

Before the worker registers with the scheduler it runs the sandbox self-test (sandbox.selftest,
the same canary and command line as the app's) and logs this worker's PineOpt code version. If
the self-test fails the process exits with status 3 and the reason on its log: a worker that
cannot sandbox never receives a job. (distributed logs and swallows exceptions raised by a
preload's dask_setup, so refusing needs the exit.)
"""

from __future__ import annotations

import logging
import os
from typing import Any

_log = logging.getLogger("distributed.pineopt")  # shown by the worker's own log config
REFUSED_EXIT = 3


def dask_setup(worker: Any) -> None:
    """Run the self-test; exit the worker process when it fails."""
    from sandbox import selftest as sandbox_check
    from core.executors import version
    from core.settings import load_settings

    settings = load_settings()
    status = sandbox_check.self_test(settings, refresh=True)
    if not status.ok or status.unsafe:
        _log.error("PineOpt worker refuses to join the cluster: %s", status.message)
        print(f"pineopt worker: refusing to join: {status.message}", flush=True)  # noqa: T201
        os._exit(REFUSED_EXIT)  # noqa: SLF001 - see the module docstring
    _log.info("PineOpt worker %s ready: code %s, %s", getattr(worker, "address", "?"),
              version.code_version(), status.message)
