"""The objects a server process shares between requests: settings and its job manager."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from core.runs.jobs import JobManager
from core.settings import Settings
from core.studies.background import StudyRunner


@dataclass(frozen=True, slots=True, kw_only=True)
class AppContext:
    """Settings with an initialised store, the JobManager that runs this process's jobs and
    the StudyRunner that runs its sweeps."""

    settings: Settings
    jobs: JobManager
    studies: StudyRunner
    token: str


def context(request: Request) -> AppContext:
    """The context create_app stored on the application."""
    return request.app.state.pineopt


Ctx = Annotated[AppContext, Depends(context)]
