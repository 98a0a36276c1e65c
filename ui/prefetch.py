"""Fetch and compile, on every page, the browser code the Results page needs that other pages
do not load: Streamlit loads each element's JavaScript only when the first such element arrives,
so reaching Results by a click used to wait for the Vega-Lite bundle (~780 KB), the chart,
metric and selectbox modules before it could draw. Importing them while the previous page is
shown makes them ready (an ES module is fetched and evaluated once per page load; Streamlit's
own import of the same URL then finds it done). The cost: about 0.1 s of main-thread CPU on the
first page a browser session opens (measured; deferring the imports to an idle callback did not
make that page faster and made the click to Results slower).

The modules are Streamlit's own files, found by name in its static folder (their names carry a
content hash that changes with the Streamlit version); a name that is not found is skipped.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import streamlit as st

# The chunk names (before the hash) of the Results page's elements in the page's order: the run
# picker (selectbox), the run actions (buttons), metric cards, then Vega-Lite charts (the chart
# element, the vega-embed bundle and the expression interpreter it loads).
RESULTS_CHUNKS = ("Selectbox", "Button", "Metric", "ArrowVegaLiteChart", "embed",
                  "vega-interpreter")
_STATIC_JS = Path(st.__file__).parent / "static" / "static" / "js"

# Imports relative to the app's own entry script (its folder is the chunks' folder, under any
# server.baseUrlPath); a failed import only means Results loads the file itself later.
_SCRIPT = """<script>
(() => {
  const entry = document.querySelector('script[type=module][src*="static/js/index."]');
  if (!entry || window.__pineoptPrefetched) return;
  window.__pineoptPrefetched = true;
  const folder = entry.src.slice(0, entry.src.lastIndexOf('/') + 1);
  for (const name of %s) import(folder + name).catch(() => {});
})();
</script>"""


@cache
def chunk_files() -> tuple[str, ...]:
    """The file names of RESULTS_CHUNKS in this Streamlit's static folder (one per name found)."""
    found = []
    for chunk in RESULTS_CHUNKS:
        matches = sorted(_STATIC_JS.glob(f"{chunk}.*.js"))
        found += [m.name for m in matches if m.name.count(".") == 2][:1]
    return tuple(found)


def results_code() -> None:
    """Start loading the Results page's browser code in the background (sidebar; no space)."""
    files = chunk_files()
    if files:
        st.sidebar.html(_SCRIPT % json.dumps(list(files)), unsafe_allow_javascript=True)
