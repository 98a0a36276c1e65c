"""PineOpt app router: page config, navigation and the shared sidebar. Nothing else."""

from pathlib import Path

import streamlit as st

from ui import prefetch, services, widgets

ICON = Path(__file__).parent / "ui" / "assets" / "icon.png"  # local file: no font fetch offline

st.set_page_config(page_title="PineOpt", page_icon=str(ICON), layout="wide")

STRATEGIES = st.Page("app_pages/strategies.py", title="Strategies", icon=":material/code:",
                     url_path="home", default=True)  # served at the root URL, /


def _strategies_path() -> None:
    """/strategies, typed or bookmarked like every other page's path: the Strategies page (at /,
    as the default page), with the same query (?strategy=ID). Streamlit serves the default page
    only at the root and answered /strategies with "Page not found"."""
    st.switch_page(STRATEGIES, query_params=st.query_params.to_dict())


PAGES = [
    STRATEGIES,
    st.Page("app_pages/backtest.py", title="Backtest", icon=":material/play_arrow:", url_path="backtest"),
    st.Page("app_pages/results.py", title="Results", icon=":material/monitoring:", url_path="results"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:",
            url_path="compare"),
    st.Page("app_pages/optimize.py", title="Optimize", icon=":material/tune:", url_path="optimize"),
    st.Page("app_pages/glossary.py", title="Glossary", icon=":material/menu_book:", url_path="glossary"),
    st.Page("app_pages/data.py", title="Data", icon=":material/database:", url_path="data"),
    st.Page(_strategies_path, title="Strategies", url_path="strategies", visibility="hidden"),
]

navigation = st.navigation(PAGES)
with st.sidebar:
    st.caption("PineOpt · crypto strategy lab · times in UTC · sample data is synthetic")
prefetch.results_code()  # the Results page's browser code, loaded while another page shows
widgets.sandbox_banner(services.settings())  # red banner when strategies cannot run safely
navigation.run()
