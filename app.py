"""PineOpt app router: page config, navigation and the shared sidebar. Nothing else."""

import streamlit as st

st.set_page_config(page_title="PineOpt", page_icon="🌲", layout="wide")

PAGES = [
    st.Page("pages/strategies.py", title="Strategies", icon="📝", url_path="strategies",
            default=True),
    st.Page("pages/backtest.py", title="Backtest", icon="▶️", url_path="backtest"),
    st.Page("pages/results.py", title="Results", icon="📈", url_path="results"),
    st.Page("pages/data.py", title="Data", icon="🗄️", url_path="data"),
]

navigation = st.navigation(PAGES)
with st.sidebar:
    st.caption("PineOpt · crypto strategy lab · times in UTC · sample data is synthetic")
navigation.run()
