"""The PineOpt code version a Dask task was built for, and the one a worker runs.

code_version() = "<package version>+<sha256 of the code a job meets>[:12]": the child-side runtime
sandbox.command.ensure_runtime copies into every sandbox (RUNTIME_FILES), plus the worker-side
code that starts the sandbox and ships its outputs (sandbox/, core/executors/). Two processes with
the same code version run a job identically; a worker refuses a task whose version differs and the
message names both.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import metadata

from core.settings import REPO_ROOT
from sandbox.command import runtime_sources


def package_version() -> str:
    """The installed pineopt distribution's version ('unknown' when run from a bare checkout)."""
    try:
        return metadata.version("pineopt")
    except metadata.PackageNotFoundError:
        return "unknown"


@cache
def runtime_digest() -> str:
    """sha256 over the relative paths and contents of the code a job meets on a worker."""
    worker_side = [*(REPO_ROOT / "sandbox").rglob("*.py"),
                   *(REPO_ROOT / "core" / "executors").rglob("*.py")]
    files = sorted(set(runtime_sources()) | set(worker_side))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_version() -> str:
    """This process's PineOpt code version, e.g. '0.1.0+3f2a9c01b7de'."""
    return f"{package_version()}+{runtime_digest()[:12]}"


def mismatch_message(*, worker: str, sent: str, where: str) -> str:
    """The refusal a worker returns for a task built by different code (names both versions)."""
    return (f"The Dask worker {where} runs PineOpt code {worker}, but the app sent a job built "
            f"by PineOpt code {sent}; a worker only runs jobs of its own code, so results stay "
            "identical to a local run. Run the same PineOpt version (the same Docker image or "
            "checkout) on the app and on every worker, then re-queue the run or resume the "
            "study.")
