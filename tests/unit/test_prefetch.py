"""The Results page's browser code prefetched on every page (ui.prefetch): every chunk it names
exists in the installed Streamlit, so an upgrade that renames one fails here instead of
silently bringing back the wait on a click to Results."""

from __future__ import annotations

import re

from ui import prefetch


def test_every_results_chunk_is_found_once() -> None:
    files = prefetch.chunk_files()
    assert [f.split(".")[0] for f in files] == list(prefetch.RESULTS_CHUNKS)
    assert all(re.fullmatch(r"[\w-]+\.[\w-]+\.js", f) for f in files), files

