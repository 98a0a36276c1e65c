"""/api/health (open: Docker's health check), /api/doctor, /api/glossary."""

from __future__ import annotations

from fastapi import APIRouter

from api.context import Ctx
from api.errors import ERROR_RESPONSES
from api.schemas import DoctorFact, DoctorOut, Health
from core import store
from core.analytics import trade_stats

router = APIRouter(prefix="/api", tags=["system"], responses=ERROR_RESPONSES)


@router.get("/health", response_model=Health, summary="Liveness (no token needed)")
def health(ctx: Ctx) -> Health:
    """200 when the store answers a query."""
    with store.connect(ctx.settings.db_path) as con:
        con.execute("SELECT 1").fetchone()
    return Health(status="ok", store=str(ctx.settings.db_path),
                  sandbox_mode=ctx.settings.sandbox_mode,
                  auth="bearer" if ctx.token else "none (loopback only)")


@router.get("/doctor", response_model=DoctorOut, summary="Sandbox setup, fact by fact")
def doctor(ctx: Ctx) -> DoctorOut:
    """`pineopt doctor`: each fact the sandbox depends on with its fix, then the self-test."""
    from sandbox import selftest as sandbox_check
    from sandbox import doctor as facts_of

    found = facts_of.facts(ctx.settings)
    facts = [DoctorFact(name=f.name, ok=f.ok, detail=f.detail, fix=f.fix) for f in found]
    ready = all(f.ok or f.optional for f in found)  # e.g. per-run users unused under cgroups
    if ctx.settings.sandbox_mode != "none":
        status = sandbox_check.self_test(ctx.settings, refresh=True)
        facts.append(DoctorFact(name="sandbox self-test", ok=status.ok, detail=status.message))
        ready = ready and status.ok
    return DoctorOut(ready=ready, facts=facts)


@router.get("/glossary", summary="Every metric's definition", responses={200: {"content": {
    "application/json": {"example": [{"name": "sharpe_ratio", "label": "Sharpe",
                                      "unit": "ratio", "definition": "..."}]}}}})
def glossary() -> list[dict[str, str]]:
    """The Glossary page: label, unit and definition of every metric."""
    return [{"name": m.name, "label": m.label, "unit": m.unit, "definition": m.definition}
            for m in trade_stats.glossary()]
