"""Process-wide objects for the app (cache_resource) and session-state keys.

Only this package, app.py and app_pages/ import streamlit.
"""

from __future__ import annotations

import logging

import streamlit as st

from api import owner
from core import bootstrap, logs
from core.runs.jobs import JobManager
from core.studies.background import StudyRunner
from core.settings import Settings, load_settings

# session_state keys shared between pages (plain keys survive page switches).
EDITOR_SOURCE = "editor_source"
SELECTED_STRATEGY = "selected_strategy_id"
SELECTED_RUN = "selected_run_id"


@st.cache_resource(show_spinner="Preparing the store (first start loads sample data)…")
def _settings_for(home: str) -> Settings:
    settings = load_settings()
    logs.configure(settings)
    bootstrap.init_store(settings)
    logging.getLogger("pineopt.app").info("app started with store %s", settings.db_path)
    return settings


def settings() -> Settings:
    """Settings with an initialised store (once per PINEOPT_HOME per process); under
    `pineopt serve` the owner's (api.owner), whose store is ready."""
    owned = owner.current()
    return owned.settings if owned is not None else _settings_for(str(load_settings().home))


@st.cache_resource
def _jobs_for(home: str) -> JobManager:
    return JobManager(settings())


def jobs() -> JobManager:
    """The background job manager of this server process: under `pineopt serve` the one the
    API and forwarded CLI commands use too (api.owner)."""
    owned = owner.current()
    return owned.jobs if owned is not None else _jobs_for(str(settings().home))


@st.cache_resource
def _studies_for(home: str) -> StudyRunner:
    return StudyRunner(settings())


def studies() -> StudyRunner:
    """The study runner of this server process: sweeps and walk-forwards started on the
    Optimize page keep running across reruns and sessions (core.studies.background)."""
    return _studies_for(str(settings().home))


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>~$"})


def md_escape(text: str) -> str:
    """Text shown literally inside Streamlit markdown (names and code from users, E5)."""
    return text.translate(_MARKDOWN)


def show_error(exc: Exception) -> None:
    """The one user-facing error box: the message shown literally (it may quote file, symbol or
    strategy names, so markdown is escaped), never a traceback."""
    st.error(md_escape(str(exc)), icon="⚠️")
