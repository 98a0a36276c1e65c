"""Data page: the stored market data catalogue with coverage."""

import pandas as pd
import streamlit as st

from core import market_data
from ui import services

settings = services.settings()
st.title("Market data")
sets = market_data.list_datasets(settings.db_path)
st.dataframe(pd.DataFrame([{
    "Exchange": d.exchange, "Market": d.market, "Symbol": d.symbol, "Timeframe": d.timeframe,
    "First bar (UTC)": d.first, "Last bar (UTC)": d.last, "Bars": d.bars,
    "Source": "synthetic sample data" if d.synthetic else "imported"} for d in sets]),
    hide_index=True, width="stretch")
st.caption("Higher timeframes (4h, 1d, 1w) are resampled from the stored bars on demand.")
