"""Security corpus fixtures: one shared home, a canary file and a canary TCP server.

Attacks run in parallel (a JobManager for the app path, a thread pool for direct Workers), once
per session; each test then asserts its own attack's outcome and that the canaries were never
touched (file unchanged, no connection accepted).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.settings import Settings
from tests.conftest import make_settings

SECURITY_LIMITS = {"pineopt_cpu_s": "3", "pineopt_timeout_s": "60", "pineopt_memory_mb": "800",
                   "pineopt_output_bytes": "100000", "pineopt_max_concurrent": "4",
                   "pineopt_pool_size": "2"}


@dataclass
class Canaries:
    """A secret file the sandbox must not read and a loopback server it must not reach."""

    path: Path
    content: str
    port: int
    connections: list[str] = field(default_factory=list)

    def fill(self, source: str) -> str:
        """Put the canary path and port into an attack's source."""
        return source.replace("CANARY_PATH", str(self.path)).replace("CANARY_PORT",
                                                                     str(self.port))

    def assert_untouched(self) -> None:
        """The file is unchanged and nobody connected to the server."""
        assert self.path.read_text() == self.content
        assert self.connections == []


def _serve(server: socket.socket, seen: list[str]) -> None:
    while True:
        try:
            conn, addr = server.accept()
        except OSError:
            return
        seen.append(f"{addr}")
        conn.close()


@pytest.fixture(scope="session")
def sec_home(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PINEOPT_HOME shared by the whole corpus (one self-test, one worker pool)."""
    target = tmp_path_factory.mktemp("security") / "home"
    shutil.copytree(template_home, target)
    return target


@pytest.fixture(scope="session")
def sec_settings(sec_home: Path) -> Settings:
    """Settings with low limits so bombs end quickly."""
    return make_settings(sec_home, **SECURITY_LIMITS)


@pytest.fixture(scope="session")
def canaries(sec_home: Path) -> Iterator[Canaries]:
    """The canary file (inside PINEOPT_HOME) and a TCP server on 127.0.0.1."""
    path = sec_home / "canary-secret.txt"
    content = f"canary {secrets.token_hex(16)}\n"
    path.write_text(content)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    found = Canaries(path=path, content=content, port=server.getsockname()[1])
    thread = threading.Thread(target=_serve, args=(server, found.connections), daemon=True)
    thread.start()
    yield found
    server.close()
    thread.join(timeout=2)


@pytest.fixture(scope="session")
def foreign_stores() -> Iterator[dict[str, Path]]:
    """Another PineOpt instance's store, created world-readable (0644 in 0755 folders) under
    /srv and /home, as a careless second install would leave it."""
    from core import store

    made: dict[str, Path] = {}
    try:
        for top in ("/srv", "/home"):
            folder = Path(top) / f"pineopt-foreign-{secrets.token_hex(8)}"
            folder.mkdir(mode=0o755)
            made[top] = folder / "pineopt.duckdb"
            store.migrate(made[top])
            made[top].chmod(0o644)
        yield made
    finally:
        for path in made.values():
            shutil.rmtree(path.parent, ignore_errors=True)


@pytest.fixture(autouse=True)
def _canaries_untouched(canaries: Canaries) -> Iterator[None]:
    yield
    canaries.assert_untouched()
