"""Data page: catalogue with coverage and quality, import, download, funding, preview."""

import streamlit as st

from ui import data_panels, services

settings = services.settings()
st.title("Market data")
data_panels.flash()
sets = data_panels.catalogue(settings.db_path)
tab_preview, tab_import, tab_download, tab_funding = st.tabs(
    ["Preview & quality", "Import a file", "Download", "Funding rates"])
with tab_preview:
    data_panels.preview_panel(settings.db_path, sets)
with tab_import:
    data_panels.import_panel(settings.db_path)
with tab_download:
    data_panels.download_panel(settings.db_path)
with tab_funding:
    data_panels.funding_panel(settings.db_path)
