"""Streamlit's server in this process, as `streamlit run` would start it (`pineopt serve`
runs it in its main thread, beside the API that owns the store: api.owner)."""

from __future__ import annotations

from streamlit.web import cli as streamlit_cli


def run(argv: list[str]) -> None:
    """Serve until Streamlit stops (SIGTERM, SIGINT: its own handlers); ``argv`` as given to
    `streamlit` ("run", "app.py", "--server.port", ...)."""
    streamlit_cli.main(args=argv, prog_name="streamlit", standalone_mode=False)
