"""The PineOpt code version a Dask task was built for, and the one a worker runs.

code_version() = "<package version>+<sha256 of the child-side runtime>[:12]": the runtime is the
exact set of files sandbox.command.ensure_runtime copies into every sandbox (core/ and sandbox/,
which includes the parent's result checks). Two processes with the same code version run a job
identically; a worker refuses a task whose version differs and the message names both.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import metadata

from core.settings import REPO_ROOT
from sandbox.command import RUNTIME_PACKAGES


def package_version() -> str:
    """The installed pineopt distribution's version ('unknown' when run from a bare checkout)."""
    try:
        return metadata.version("pineopt")
    except metadata.PackageNotFoundError:
        return "unknown"


@cache
def runtime_digest() -> str:
    """sha256 over the runtime's relative paths and contents (as ensure_runtime hashes them)."""
    files = sorted(p for pkg in RUNTIME_PACKAGES for p in (REPO_ROOT / pkg).rglob("*.py"))
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
