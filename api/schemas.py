"""Request and response models of the strategy and system routes (each with an example).

Field names follow the CLI's --json output so scripts can switch between the two.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SMA_SOURCE = ("import pandas as pd\nfrom backtesting import Strategy\n"
              "from backtesting.lib import crossover\n\n\ndef sma(values, n):\n"
              "    return pd.Series(values).rolling(n).mean()\n\n\nclass SmaCross(Strategy):\n"
              "    fast = 20  # bars in the fast average; range: 5..100\n"
              "    slow = 60  # bars in the slow average; range: 20..300\n\n"
              "    def init(self):\n        self.f = self.I(sma, self.data.Close, self.fast)\n"
              "        self.s = self.I(sma, self.data.Close, self.slow)\n\n    def next(self):\n"
              "        if crossover(self.f, self.s):\n            self.buy()\n"
              "        elif crossover(self.s, self.f):\n            self.position.close()\n")


def example(value: dict[str, Any]) -> ConfigDict:
    """A model config whose OpenAPI schema carries ``value`` as its example."""
    return ConfigDict(json_schema_extra={"examples": [value]})


class Issue(BaseModel):
    """One validation finding."""

    severity: Literal["error", "warning", "info"]
    line: int = Field(description="1-based line, 0 when unknown")
    col: int = Field(description="1-based column, 0 when unknown")
    message: str = Field(description="what is wrong and how to fix it")
    rule: str = ""


ISSUE_EXAMPLE = {"severity": "error", "line": 3, "col": 0, "rule": "import",
                 "message": "import of 'os' is not allowed; strategies may import only ..."}


class MetaFields(BaseModel):
    """Descriptive metadata (all optional on update)."""

    description: str | None = None
    author: str | None = None
    version_label: str | None = Field(None, description="your own label, e.g. '1.2'")
    tags: list[str] | None = None
    timeframes: list[str] | None = None
    assets: list[str] | None = None
    dependencies: list[str] | None = None


class StrategyCreate(MetaFields):
    """JSON upload: a name and the source text."""

    model_config = example({"name": "sma cross", "language": "python", "source": SMA_SOURCE,
                            "tags": ["trend"]})
    name: str = Field(min_length=1, description="library name; an existing name gets a new "
                                                "version (as `pineopt strategies add`)")
    source: str = Field(description="the .py or .pine text")
    language: Literal["python", "pine"] = "python"


class StrategyUpdate(MetaFields):
    """PUT body: a new source makes a new version; metadata is replaced field by field."""

    model_config = example({"source": SMA_SOURCE, "message": "fixed the import"})
    name: str | None = Field(None, min_length=1)
    source: str | None = None
    message: str = Field("", description="version message (default 'edited')")


class VersionInfo(BaseModel):
    """One saved version."""

    version: int
    sha256: str
    message: str
    valid: bool
    created_at: str


class ParamInfo(BaseModel):
    """A tunable parameter of the latest version."""

    name: str
    type: str
    default: Any
    min: float | None = None
    max: float | None = None
    description: str = ""


class StrategyDetail(BaseModel):
    """A strategy: metadata, latest version's validation and parameters, every version."""

    model_config = example({
        "id": 1, "name": "sma cross", "language": "python", "description": "", "author": "",
        "version_label": "1.0", "tags": ["trend"], "timeframes": [], "assets": [],
        "dependencies": [], "deleted": False, "version": 2, "valid": True, "issues": [],
        "parameters": [{"name": "fast", "type": "int", "default": 10, "min": 2, "max": 50,
                        "description": "Fast MA"}],
        "versions": [{"version": 2, "sha256": "9f2c...", "message": "edited", "valid": True,
                      "created_at": "2026-01-02 10:00:00"}],
        "source": SMA_SOURCE})
    id: int
    name: str
    language: str
    description: str
    author: str
    version_label: str
    tags: list[str]
    timeframes: list[str]
    assets: list[str]
    dependencies: list[str]
    deleted: bool
    version: int = Field(description="latest version number")
    valid: bool = Field(description="the latest version passed validation")
    issues: list[Issue]
    parameters: list[ParamInfo]
    versions: list[VersionInfo]
    source: str = Field(description="the latest version's source")


class StrategyRow(BaseModel):
    """One library row."""

    id: int
    name: str
    language: str
    author: str
    version: int
    tags: list[str]
    timeframes: list[str]
    assets: list[str]
    status: Literal["valid", "invalid"]
    updated_at: str
    last_return: float | None = Field(description="total return of the newest completed run")


class StrategyPage(BaseModel):
    """A page of the library."""

    model_config = example({"items": [{
        "id": 1, "name": "sma cross", "language": "python", "author": "", "version": 2,
        "tags": ["trend"], "timeframes": [], "assets": [], "status": "valid",
        "updated_at": "2026-01-02 10:00:00", "last_return": 0.042}],
        "total": 1, "limit": 50, "offset": 0})
    items: list[StrategyRow]
    total: int
    limit: int
    offset: int


class Deleted(BaseModel):
    """A delete that happened."""

    model_config = example({"id": 1, "deleted": True,
                            "detail": "Strategy 1 left the library; its past runs stay readable."})
    id: int
    deleted: bool
    detail: str


class ValidateRequest(BaseModel):
    """Static checks of a stored version (default: the latest)."""

    model_config = example({"version": None})
    version: int | None = None


class SourceCheck(BaseModel):
    """Source text to check or translate without saving it (`pineopt validate|translate`)."""

    model_config = example({"source": SMA_SOURCE, "language": "python"})
    source: str
    language: Literal["python", "pine"] = "python"


class ValidationOut(BaseModel):
    """Diagnostics with line and column; valid is False when any error is present."""

    model_config = example({"valid": False, "issues": [ISSUE_EXAMPLE], "version": 1})
    valid: bool
    issues: list[Issue]
    version: int | None = Field(None, description="the version checked (stored strategies)")


class TranslationOut(BaseModel):
    """The Python a Pine strategy runs as."""

    model_config = example({"python_source": "class MovingAvgCross(Strategy): ...",
                            "parameters": ["length"]})
    python_source: str
    parameters: list[str]


class Health(BaseModel):
    """Liveness: the store answers."""

    model_config = example({"status": "ok", "store": "/data/pineopt.duckdb",
                            "sandbox_mode": "firejail", "auth": "bearer"})
    status: Literal["ok"]
    store: str
    sandbox_mode: str
    auth: Literal["bearer", "none (loopback only)"]


class DoctorFact(BaseModel):
    """One setup fact the sandbox depends on."""

    name: str
    ok: bool
    detail: str
    fix: str = Field("", description="what to do when ok is False")


class DoctorOut(BaseModel):
    """`pineopt doctor` as JSON."""

    model_config = example({"ready": True, "facts": [
        {"name": "firejail", "ok": True, "detail": "firejail 0.9.72"}]})
    ready: bool
    facts: list[DoctorFact]
