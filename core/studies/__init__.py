"""Studies: many runs of one strategy version (parameter sweeps) and the statistics that say
whether the best of them is real (deflated Sharpe, PBO by CSCV, Monte Carlo).

space.py (search space, grid/random plans), constraints.py (the safe constraint language),
study_store.py (studies and trials in DuckDB), batch.py (CHILD SIDE: many trials on data loaded
once), executor.py (batches across sandbox children), sweep.py (the orchestrator: plan, run,
store, resume), stats.py (DSR, PBO), montecarlo.py.
"""
