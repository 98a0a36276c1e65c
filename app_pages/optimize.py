"""Optimize page: parameter sweeps (grid, random, TPE) in sandbox batches with progress and
cancel, on the Backtest page's market, dates and costs form (ui.backtest_form.market_form), run by this server's StudyRunner (ui.services.studies; a sweep outlives page reruns);
the trials table, a heatmap of any two parameters, overfitting statistics, open a trial as a run; walk-forward (ui.walkforward_tab); Monte Carlo of a completed run with a fan chart;
the lookahead check (ui.lookahead_tab)."""

import streamlit as st

from core.strategies import params, crud as strategies
from core.runs import config_file, service as runs
from core.errors import PineOptError
from core.model import BacktestConfig, RunStatus
from core.studies import montecarlo, space, stats, study_store, sweep
from reports import studies_charts
from ui import backtest_form as form
from ui import lookahead_tab, services, walkforward_tab, widgets

settings = services.settings()
st.title("Optimize")
widgets.placement_caption(settings)
STUDY_PICK = "opt_study_pick"  # the Studies tab's picker (and its selected study)


def _start(study_id: int) -> bool:
    """Run (or resume) the study in this server's StudyRunner; False (and the message shown)
    when it is refused, e.g. already running."""
    try:
        services.studies().start(study_id, workers=_workers())
    except PineOptError as exc:
        services.show_error(exc)
        return False
    return True


def _workers() -> int | None:
    """Batches at once: the app's pool size locally; every worker thread on a Dask cluster."""
    return None if settings.executor == "dask" else settings.pool_size


TAB, GOTO, STARTED = "opt_tab", "opt_goto", "opt_started"  # open tab; after Run sweep
if (goto := st.session_state.pop(GOTO, None)) is not None:
    st.session_state[TAB] = goto  # a started sweep opens the Studies tab
sweep_tab, studies_tab, wf_tab, mc_tab, la_tab = st.tabs(
    ["New sweep", "Studies", "Walk-forward", "Monte Carlo", "Lookahead"], key=TAB,
    on_change="rerun")

run_config: BacktestConfig | None = None  # the sweep's market, dates and costs
with sweep_tab:
    library = [s for s in strategies.list_strategies(settings.db_path)]
    if not library:
        st.info("Save a strategy on the Strategies page first.")
    else:
        names = {s.id: s.meta.name for s in library}
        sid = st.selectbox("Strategy", list(names), format_func=names.get, key="opt_strategy")
        record = strategies.get(settings.db_path, sid)
        version = strategies.get_version(settings.db_path, sid)
        defs = params.extract(version.source, record.language)
        market = form.market_form(settings, sid=sid, language=record.language,
                                  source=version.source, version=version.version,
                                  keys=form.OPTIMIZE)  # as the Backtest page's, own keys
        if market is not None:
            try:
                run_config = config_file.build_config({**market, "params": {}})
            except PineOptError as exc:
                services.show_error(exc)
        st.markdown("**Parameters** — tick to sweep; write `low:high:step` or `a,b,c`")
        specs: dict[str, str] = {}
        for p in defs:
            left, right = st.columns([1, 3])
            on = left.checkbox(p.name, value=p.type in ("int", "float") and p.min is not None
                               and len(specs) < 2, key=f"opt_on_{sid}_{p.name}")
            text = right.text_input(f"{p.name} values", space.default_spec(p),
                                    key=f"opt_spec_{sid}_{p.name}",
                                    label_visibility="collapsed", help=p.description)
            if on:
                specs[p.name] = text
        c1, c2, c3, c4 = st.columns(4)
        method = c1.selectbox("Method", sweep.METHODS, key="opt_method")
        trials = c2.number_input("Trial budget", 1, sweep.MAX_TRIALS, 200, key="opt_trials")
        budget = c3.number_input("Time budget (s, 0 = none)", 0, 86_400, 0, key="opt_budget")
        seed = c4.number_input("Seed", 0, 2**31 - 1, 0, key="opt_seed")
        c1, c2, c3 = st.columns(3)
        names_m = sweep.metric_names()
        objective = c1.selectbox("Objective", names_m, index=names_m.index("sharpe_ratio"),
                                 key="opt_objective")
        direction = c2.radio("Direction", ["max", "min"], horizontal=True, key="opt_dir")
        min_trades = c3.number_input("Minimum trades", 0, 100_000, 0, key="opt_min_trades")
        constraint_text = st.text_input("Constraints (one per line is also fine; e.g. fast < slow)",
                                        "fast < slow" if {"fast", "slow"} <= set(specs) else "",
                                        key="opt_constraints")
        if specs:
            try:
                dims = space.build(defs, specs)
                blank = [f"{d.name} (empty: its declared range, {len(d.values):,} values)"
                         for d in dims if not specs[d.name].strip()]
                st.caption(f"{space.size(dims):,} combinations before constraints"
                           + (f" · {'; '.join(blank)}" if blank else ""))
            except PineOptError as exc:
                services.show_error(exc)
        if st.button("Run sweep", type="primary", key="opt_run", disabled=run_config is None):
            rules = [c.strip() for c in constraint_text.replace(";", "\n").splitlines()
                     if c.strip()]
            try:
                study_id = sweep.create(
                    settings, strategy_id=sid, specs=specs, method=method,
                    max_trials=int(trials), time_budget_s=float(budget) or None,
                    objective=objective, direction=direction, min_trades=int(min_trades),
                    constraints=rules, seed=int(seed), config=run_config)
            except PineOptError as exc:
                services.show_error(exc)
            else:
                st.session_state[STUDY_PICK] = study_id  # the Studies tab follows the new one
                if _start(study_id):  # said on the Studies tab, which opens (it vanished)
                    st.session_state[STARTED] = f"Study {study_id} started."
                    st.session_state[GOTO] = "Studies"
                    st.rerun()


@st.fragment(run_every=1.0)
def _progress(study_id: int) -> None:
    runner = services.studies()
    shown = runner.progress(study_id)
    if shown is None:
        return
    report = shown.report
    study = study_store.get_study(settings.db_path, study_id)
    done = report.stored if report else 0
    total = study.max_trials
    if study.method == "grid":
        total = min(total, sum(1 for _ in space.grid(sweep.dimensions(study),
                                                     sweep.rules(study))))
    eta = shown.elapsed / done * (total - done) if done and shown.alive else 0
    st.progress(min(done / total, 1.0) if total else 0.0,
                text=f"{done} of {total} trials · {shown.elapsed:.0f} s" +
                (f" · about {eta:.0f} s left" if eta else ""))
    widgets.study_controls(shown, study_id, what="sweep", key="opt")


with studies_tab:
    listed = [(s, n) for s, n in study_store.list_studies(settings.db_path)
              if s.kind != "walkforward"]  # a walk-forward's windows are listed, not itself
    if (started := st.session_state.pop(STARTED, None)) is not None:
        st.success(started, icon=":material/play_arrow:")
    if not listed:
        st.info("No studies yet: start one on the New sweep tab (or `pineopt optimize`).")
    else:
        study_id = widgets.study_picker("Study", listed, key=STUDY_PICK)
        _progress(study_id)
        study = study_store.get_study(settings.db_path, study_id)
        if (study.interrupted or study.status in ("cancelled", "failed")) and not \
                services.studies().running(study_id):
            if st.button("Resume (runs only the missing trials)", key="opt_resume") and \
                    _start(study_id):
                st.rerun()
        frame = study_store.trials_frame(settings.db_path, study_id)
        table = studies_charts.trials_table(frame)
        if table.empty:
            st.caption("No trials stored yet.")
        else:
            for line in stats.study_statistics(settings.db_path, study_id).get("lines", []):
                st.markdown(f"- {line}")
            st.dataframe(table, hide_index=True, width="stretch", height=320)
            swept = [d["name"] for d in study.space]
            if len(swept) >= 2:
                c1, c2, c3 = st.columns(3)
                x = c1.selectbox("Heatmap x", swept, index=0, key="opt_hx")
                y = c2.selectbox("Heatmap y", swept, index=1, key="opt_hy")
                agg = c3.selectbox("Others aggregated by", studies_charts.AGGREGATES,
                                   key="opt_hagg")
                if x != y:
                    st.altair_chart(studies_charts.heatmap(table, x, y, agg=agg),
                                    width="stretch")
            else:
                st.altair_chart(studies_charts.scatter(table, swept[0]), width="stretch")
            best = sweep.best_trial(settings, study_id)
            c1, c2 = st.columns([1, 3])
            n = c1.number_input("Trial", int(table["n"].min()), int(table["n"].max()),
                                best["n"] if best else int(table["n"].min()), key="opt_trial_n")
            if c2.button("Open as run", key="opt_open"):
                try:
                    record = sweep.open_as_run(settings, study_id, int(n))
                except PineOptError as exc:
                    services.show_error(exc)
                else:
                    st.session_state[services.SELECTED_RUN] = record.id
                    st.success(f"Trial {n} is run {record.id} ({record.status.value}).")
                    st.page_link("app_pages/results.py", label=f"Open run {record.id} on Results",
                                 icon=":material/open_in_new:",
                                 query_params={"run": record.id})

with wf_tab:
    wf_request = None
    if library and specs and run_config is not None:
        wf_request = {
            "strategy_id": sid, "specs": specs, "method": method, "max_trials": int(trials),
            "time_budget_s": float(budget) or None, "objective": objective,
            "direction": direction, "min_trades": int(min_trades), "seed": int(seed),
            "constraints": [c.strip() for c in constraint_text.replace(";", "\n").splitlines()
                            if c.strip()],
            "config": run_config}
    walkforward_tab.render(settings, wf_request)

with mc_tab:
    done_runs = [r for r in runs.list_runs(settings.db_path) if r.status is RunStatus.COMPLETED]
    if not done_runs:
        st.info("Monte Carlo needs a completed run.")
    else:
        labels = {r.id: f"{r.id} · {r.strategy_name} · {r.config.symbol} {r.config.timeframe}"
                  for r in done_runs}
        ids = list(labels)
        chosen = st.session_state.get(services.SELECTED_RUN)
        run_id = st.selectbox("Run", ids, format_func=labels.get, key="mc_run",
                              index=ids.index(chosen) if chosen in ids else 0)
        c1, c2, c3, c4 = st.columns(4)
        method = c1.selectbox("Method", montecarlo.METHODS, key="mc_method")
        paths = c2.number_input("Paths", 10, 20_000, 1000, key="mc_paths")
        seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="mc_seed")
        block = c4.number_input("Mean block (days)", 1.0, 60.0, 5.0, key="mc_block")
        c1, c2 = st.columns(2)
        loss = c1.number_input("Loss threshold", 0.0, 1.0, 0.1, key="mc_loss")
        dd = c2.number_input("Drawdown threshold", 0.0, 1.0, 0.2, key="mc_dd")
        try:
            result = montecarlo.for_run(settings, run_id, method=method, paths=int(paths),
                                        seed=int(seed), mean_block=float(block))
        except PineOptError as exc:
            services.show_error(exc)
        else:
            out = montecarlo.summary(result, loss=loss, drawdown=dd)
            st.altair_chart(studies_charts.fan_chart(result.fan()), width="stretch")
            st.dataframe(
                {name: {f"p{p}": f"{v:.2%}" for p, v in pct.items()}
                 for name, pct in out["percentiles"].items()}, width="stretch")
            st.markdown(f"P(lose ≥ {loss:.0%}) = **{out['prob_loss']:.3f}** · "
                        f"P(drawdown > {dd:.0%}) = **{out['prob_drawdown']:.3f}**")

with la_tab:
    lookahead_tab.render(settings)
