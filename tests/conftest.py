"""Shared fixtures: an isolated PINEOPT_HOME with an initialised store for every test.

The sample data is generated once per session into a template store and copied, so each test
gets a fresh DuckDB file in well under a second. Tests never touch data/ or the user's store.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from core import bootstrap
from core.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with migrations and sample data, built once per session."""
    home = tmp_path_factory.mktemp("template_home")
    bootstrap.init_store(load_settings({"PINEOPT_HOME": str(home)}))
    return home


# Where this machine's sandbox lives (CI sets fresh names each run): tests follow them.
MACHINE_VARIABLES = ("PINEOPT_SANDBOX_USER", "PINEOPT_SANDBOX_VENV", "PINEOPT_SANDBOX_HOME",
                     "PINEOPT_JOBS_ROOT")


def make_settings(home: Path, **env: str) -> Settings:
    """Settings for a test home; PINEOPT_* overrides as keyword arguments."""
    machine = {k: os.environ[k] for k in MACHINE_VARIABLES if os.environ.get(k)}
    return load_settings({**machine, "PINEOPT_HOME": str(home),
                          **{k.upper(): v for k, v in env.items()}})


@pytest.fixture
def home(template_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh PINEOPT_HOME (copied from the template) exported for the CLI and services."""
    target = tmp_path / "home"
    shutil.copytree(template_home, target)
    monkeypatch.setenv("PINEOPT_HOME", str(target))
    return target


@pytest.fixture
def settings(home: Path) -> Settings:
    """Settings pointing at the fresh home (firejail sandbox, the default)."""
    return make_settings(home)


@pytest.fixture
def sma_source() -> str:
    """The SMA-cross example's source."""
    return (REPO / "examples" / "sma_cross.py").read_text()


def nan_as_none(values: Any) -> Any:
    """Metric values (a dict, or a dict of dicts) with NaN as None, so two sets compare with ==
    (NaN marks an average with nothing to average, and NaN != NaN)."""
    if isinstance(values, dict):
        return {k: nan_as_none(v) for k, v in values.items()}
    return None if isinstance(values, float) and values != values else values
