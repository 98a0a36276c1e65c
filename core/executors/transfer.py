"""Job files as bytes across a Dask cluster, read and written defensively on both ends.

A Dask task carries a job's inputs as bytes (the job JSON, ohlcv.parquet, funding.parquet) and
returns the sandbox's outputs as bytes (the result message's JSON line and every file of out/).
Worker side, pack_out() reads the sandbox's out/ folder like core.runs.child_files does: entries
looked at without following links, only regular files (opened O_NOFOLLOW) and folders one
level deep, within entry, per-file and total byte caps. Parent side, check_reply() accepts only
the reply's known keys with the right primitive types, parses the result line with the channel's
strict parser (sandbox.channel.parse_line), and unpack_out() writes each file under a fresh
out/ folder after checking its relative path; the usual checks (core.runs.result_check,
core.runs.child_files) then read that folder exactly as they read a local run's. No pickle of
anything the sandbox wrote ever crosses: only bytes, strings, ints and flat dicts of them.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

from core.runs.child_files import MAX_FILE_BYTES
from core.errors import SandboxError
from sandbox.channel import MAX_TEXT, ChannelError, parse_line

INPUT_FILES = frozenset({"ohlcv.parquet", "funding.parquet"})
MAX_OUT_FILES = 1_000  # as sandbox.runner.MAX_OUT_ENTRIES: a batch writes 3-4 per trial
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
STATUSES = frozenset({"completed", "cancelled", "timed_out", "output_limit", "memory_limit",
                      "cpu_limit", "crashed", "rejected", "result_rejected",
                      "sandbox_unavailable", "failed", "version_mismatch"})
REPLY_KEYS = {"status": str, "message": str, "log": str, "result": bytes, "files": dict,
              "worker": str, "code_version": str}


def reject(message: str) -> SandboxError:
    """A result_rejected error for a reply or file that breaks the transfer rules."""
    return SandboxError(f"Result rejected: {message}", status="result_rejected")


def _safe_relative(name: str) -> bool:
    parts = name.split("/")
    return 1 <= len(parts) <= 2 and all(NAME.match(p) and ".." not in p for p in parts)


def _read_regular(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of one regular file, opened without following links; raises SandboxError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        raise reject(f"{path.name} is not a regular file") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            raise reject(f"{path.name} is not a regular file within {max_bytes:,} bytes")
        with os.fdopen(fd, "rb", closefd=False) as raw:
            data = raw.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise reject(f"{path.name} grew past {max_bytes:,} bytes while being read")
        return data
    finally:
        os.close(fd)


def pack_out(out_dir: Path, *, max_total_bytes: int) -> dict[str, bytes]:
    """WORKER SIDE: every file of the sandbox's out/ folder (and its t<i>/ folders) as bytes.

    Raises SandboxError(result_rejected) for a link, FIFO or deeper folder, an unsafe name, or
    more than MAX_OUT_FILES files, MAX_FILE_BYTES per file or ``max_total_bytes`` in all.
    """
    files: dict[str, bytes] = {}
    total = 0
    pending: list[tuple[str, Path]] = [("", out_dir)]
    while pending:
        prefix, folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = f"{prefix}{entry.name}"
                if not _safe_relative(name) or len(files) >= MAX_OUT_FILES:
                    raise reject(f"out/ holds {name[:80]!r}, which cannot be returned")
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode) and not prefix:
                    pending.append((f"{name}/", Path(entry.path)))
                    continue
                if not stat.S_ISREG(info.st_mode):
                    raise reject(f"{name[:80]} is not a regular file")
                files[name] = _read_regular(Path(entry.path), max_bytes=MAX_FILE_BYTES)
                total += len(files[name])
                if total > max_total_bytes:
                    raise reject(f"out/ holds more than {max_total_bytes:,} bytes")
    return files


def pack_inputs(job_dir: Path) -> dict[str, bytes]:
    """PARENT SIDE: the job's input files written into the staging folder, as bytes."""
    return {name: (job_dir / name).read_bytes() for name in sorted(INPUT_FILES)
            if (job_dir / name).is_file()}


def write_inputs(job_dir: Path, files: Any) -> None:
    """WORKER SIDE: write the task's input files (known names only) into the job folder."""
    if not isinstance(files, dict) or not set(files) <= INPUT_FILES or not all(
            isinstance(v, bytes) for v in files.values()):
        raise ValueError("the task's input files are not a map of known names to bytes")
    for name, blob in files.items():
        (job_dir / name).write_bytes(blob)


def check_reply(reply: Any, *, result_bytes: int, log_bytes: int) -> dict[str, Any]:
    """PARENT SIDE: the worker's reply with only known keys of primitive types, the result line
    parsed strictly into ``reply["result"]`` (a dict). Raises SandboxError(result_rejected)."""
    if not isinstance(reply, dict) or not set(reply) <= set(REPLY_KEYS):
        raise reject("the Dask worker's reply is not a map of the known keys")
    for key, kind in REPLY_KEYS.items():
        if key in reply and not isinstance(reply[key], kind):
            raise reject(f"the Dask worker's reply has a {type(reply[key]).__name__} {key!r}")
    status = reply.get("status")
    if status not in STATUSES:
        raise reject(f"the Dask worker reported the unknown status {str(status)[:40]!r}")
    out = {"status": status, "message": reply.get("message", "")[:MAX_TEXT],
           "log": reply.get("log", "")[:log_bytes], "worker": reply.get("worker", "")[:200],
           "result": {}, "files": {}}
    if status != "completed":
        return out
    line = reply.get("result", b"")
    if len(line) > result_bytes:
        raise SandboxError(f"Stopped: the result exceeded {result_bytes:,} bytes.",
                           status="output_limit")
    try:
        message = parse_line(line)
    except ChannelError as exc:
        raise reject(str(exc)) from None
    if message.get("type") != "result":
        raise reject("the Dask worker's result is not a result message")
    out["result"] = message
    out["files"] = reply.get("files", {})
    return out


def unpack_out(out_dir: Path, files: dict[Any, Any], *, max_total_bytes: int) -> None:
    """PARENT SIDE: write the returned files under ``out_dir`` (fresh, empty) after checking
    every name and size; raises SandboxError(result_rejected)."""
    if len(files) > MAX_OUT_FILES:
        raise reject(f"the worker returned more than {MAX_OUT_FILES} files")
    total = 0
    for name, blob in files.items():
        if not isinstance(name, str) or not _safe_relative(name) or not isinstance(blob, bytes):
            raise reject(f"the worker returned a file named {str(name)[:80]!r}")
        if len(blob) > MAX_FILE_BYTES:
            raise reject(f"{name} is {len(blob):,} bytes, over {MAX_FILE_BYTES:,}")
        total += len(blob)
        if total > max_total_bytes:
            raise reject(f"the returned files hold more than {max_total_bytes:,} bytes")
        target = out_dir / name
        target.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
