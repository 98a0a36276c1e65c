"""Selections kept in the page URL (st.query_params) so a page can be bookmarked, shared and
reloaded: Results ``?run=3``, Compare ``?runs=3,5``, Strategies ``?strategy=2``.

A value in the URL wins when it is new to this session (a pasted link, a reload, an Open link);
once the page has written its own selection back, the widgets drive and the URL follows.
"""

from __future__ import annotations

import streamlit as st

_SEEN = "_url_seen_"  # session key prefix: what this session last wrote to each parameter


def incoming_ints(name: str) -> list[int] | None:
    """The integers in ?name=… when the URL holds a value this session did not write, else
    None. Unparsable parts are ignored (an empty list means the URL named nothing usable)."""
    raw = st.query_params.get(name)
    if raw is None or raw == st.session_state.get(_SEEN + name):
        return None
    return [int(part) for part in raw.split(",") if part.strip().isdigit()]


def publish(name: str, values: list[int] | int | None) -> None:
    """Write the page's selection to ?name=… (removed when None or empty)."""
    items = values if isinstance(values, list) else [] if values is None else [values]
    text = ",".join(str(int(v)) for v in items)
    if text:
        if st.query_params.get(name) != text:
            st.query_params[name] = text
    elif name in st.query_params:
        del st.query_params[name]
    st.session_state[_SEEN + name] = text or None
