"""The Strategies page's editor view: pick or upload a strategy, edit with live validation
(Ace gutter annotations + a list), metadata form, save as a new version, history with diff and
restore, and the run/clone/export/delete actions. Logic lives in core; this module only renders.
"""

from __future__ import annotations

from dataclasses import dataclass
import pandas as pd
import streamlit as st
from streamlit_ace import st_ace

from core.strategies import examples, files, params, crud as strategies, validation
from core.pine.translation import api as pine
from core.errors import PineOptError
from core.model import TIMEFRAMES, Language, Severity, StrategyMeta, ValidationIssue
from core.settings import Settings
from ui import services, url_state
from ui.services import md_escape, show_error

VIEW = "strategies_view"  # "Editor" | "Library" | "Examples"
PICK = "strategies_pick"  # the Strategy selectbox on this page (None = new strategy)
NONCE = "strategies_nonce"  # bumped to remount the editor and the uploader with new content
FLASH = "strategies_flash"  # one message shown after the next rerun
CONFIRM = "strategies_confirm_delete"
ACE_THEME = "tomorrow"  # light, high-contrast, readable
ACE_DARK_THEME = "tomorrow_night"  # the same palette when the app follows a dark browser
ACE_FONT_PX = 15  # at 14 and 16 px Debian Chromium clips underscores off identifiers
VALID_TEXT = "Valid: one Strategy subclass, allowed imports only."
VALID_PINE = ("Valid Pine Script: it translates to a backtesting.py strategy that passes the "
              "sandbox checks.")


@dataclass(frozen=True, slots=True, kw_only=True)
class Doc:
    """What the editor shows: a saved strategy's latest version, or a new draft."""

    sid: int | None
    version: int
    meta: StrategyMeta
    language: Language
    source: str

    @property
    def key(self) -> str:
        """Widget-key suffix: changes whenever different content is loaded."""
        return (f"{self.sid or 'new'}_{self.language.value}_{self.version}_"
                f"{st.session_state.get(NONCE, 0)}")


def select(sid: int | None, *, view: str = "Editor", flash: str = "") -> None:
    """Open ``sid`` in the editor on the next run (shared with the library and examples)."""
    st.session_state[services.SELECTED_STRATEGY] = sid
    st.session_state["strategies_pending"] = sid
    st.session_state["strategies_pending_view"] = view
    st.session_state[NONCE] = st.session_state.get(NONCE, 0) + 1
    if flash:
        st.session_state[FLASH] = flash


def apply_pending_view() -> None:
    """Move a view chosen by an action into the view selector (call before it renders)."""
    if (view := st.session_state.pop("strategies_pending_view", None)) is not None:
        st.session_state[VIEW] = view


NEW_STRATEGY = 0  # picker value of "+ New strategy": a selectbox shows None as "no choice"


def _picker(settings: Settings) -> int | None:
    if from_url := url_state.incoming_ints("strategy"):  # ?strategy=ID: a link or a reload
        st.session_state["strategies_pending"] = from_url[0]
    if "strategies_pending" in st.session_state:
        st.session_state[PICK] = st.session_state.pop("strategies_pending")
    elif PICK not in st.session_state:  # widget state is dropped on other pages: restore it
        st.session_state[PICK] = st.session_state.get(services.SELECTED_STRATEGY)
    records = strategies.list_strategies(settings.db_path)
    choices: dict[int, str] = {NEW_STRATEGY: "+ New strategy"}
    choices |= {r.id: f"{r.meta.name} (v{r.latest_version})" for r in records}
    if st.session_state[PICK] not in choices:
        st.session_state[PICK] = NEW_STRATEGY
    picked = st.selectbox("Strategy", list(choices), format_func=choices.get, key=PICK)
    sid = None if picked == NEW_STRATEGY else picked
    st.session_state[services.SELECTED_STRATEGY] = sid
    url_state.publish("strategy", sid)
    return sid


def _doc(settings: Settings, sid: int | None) -> Doc:
    if sid is None:
        language = st.radio("Language of the new strategy", list(Language), horizontal=True,
                            format_func={Language.PYTHON: "Python (backtesting.py)",
                                         Language.PINE: "Pine Script v5/v6"}.get, key="new_lang")
        if language is Language.PINE:
            return Doc(sid=None, version=0, meta=StrategyMeta(name="MovingAvg2Line Cross"),
                       language=Language.PINE, source=examples.default_pine_source())
        return Doc(sid=None, version=0, meta=StrategyMeta(name="SMA cross"),
                   language=Language.PYTHON, source=examples.default_python_source())
    record = strategies.get(settings.db_path, sid)
    latest = strategies.get_version(settings.db_path, sid)
    return Doc(sid=sid, version=latest.version, meta=record.meta, language=record.language,
               source=latest.source)


def _upload(settings: Settings) -> None:
    # One limit, stated in the label and checked by files.decode_upload; the widget's own
    # whole-MB cap (1 MB, its smallest) only stops far bigger files, so its "1MB per file"
    # line (a span in the dropzone's instructions) is hidden.
    st.html("<style>[class*='st-key-upload_'] [data-testid='stFileUploaderDropzoneInstructions'] "
            "{display: none}</style>")
    got = st.file_uploader(f"Upload a strategy file (.py or .pine, up to {files.MAX_UPLOAD_TEXT})",
                           type=["py", "pine"], key=f"upload_{st.session_state.get(NONCE, 0)}",
                           max_upload_size=1)
    if got is None:
        return
    try:
        parsed = files.decode_upload(got.name, got.getvalue())
        stem = got.name.rsplit(".", 1)[0] or "uploaded"
        sid, _v = strategies.save(settings.db_path, meta=StrategyMeta(name=stem),
                                  source=parsed.source, language=parsed.language,
                                  message=f"uploaded {got.name}")
    except PineOptError as exc:
        show_error(exc)
        return
    select(sid, flash=f"Uploaded {got.name} as strategy {sid}, version 1.")
    st.rerun()


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _meta_form(doc: Doc) -> StrategyMeta:
    k, m = doc.key, doc.meta
    name = st.text_input("Name", value=m.name, key=f"name_{k}")
    with st.expander("Metadata: description, author, tags, timeframes, assets, dependencies"):
        description = st.text_area("Description", value=m.description, key=f"desc_{k}")
        c1, c2 = st.columns(2)
        author = c1.text_input("Author", value=m.author, key=f"author_{k}")
        label = c2.text_input("Version label", value=m.version, key=f"label_{k}")
        tags = c1.text_input("Tags (comma separated)", value=", ".join(m.tags), key=f"tags_{k}")
        assets = c2.text_input("Assets (comma separated, e.g. BTCUSDT)",
                               value=", ".join(m.assets), key=f"assets_{k}")
        frames = c1.multiselect("Timeframes", list(TIMEFRAMES), key=f"tf_{k}",
                                default=[t for t in m.timeframes if t in TIMEFRAMES])
        deps = c2.text_input("Dependencies (comma separated, e.g. pandas, ta)",
                             value=", ".join(m.dependencies), key=f"deps_{k}")
    return StrategyMeta(name=name, description=description, author=author, version=label,
                        tags=_split(tags), timeframes=tuple(frames), assets=_split(assets),
                        dependencies=_split(deps))


def _ace(doc: Doc, issues: list[ValidationIssue]) -> str:
    source = st_ace(value=doc.source, language="python" if doc.language is Language.PYTHON
                    else "text", theme=ACE_DARK_THEME if st.context.theme.type == "dark" else ACE_THEME,
                    key=f"ace_{doc.key}", height=460,
                    show_gutter=True, wrap=False, font_size=ACE_FONT_PX, auto_update=True,
                    annotations=validation.ace_annotations(issues))
    return doc.source if source is None else source


def _translation(doc: Doc, source: str) -> None:
    """The Python the Pine source becomes: read-only, downloadable, runnable as Python."""
    try:
        python = pine.translate(source).python_source
    except PineOptError as exc:
        st.info(f"No translation while the Pine source has an error: {md_escape(str(exc))}")
        return
    st.caption("Generated backtesting.py strategy (read-only). It runs in the same sandbox; "
               "saved as a .py strategy it runs as Python too.")
    st.download_button("Download translation (.py)", data=python.encode(),
                       file_name=f"strategy-{doc.sid or 'new'}-v{doc.version}.py",
                       mime="text/x-python", on_click="ignore", key=f"dl_py_{doc.key}")
    st.code(python, language="python", line_numbers=True)


def _issue_list(issues: list[ValidationIssue], language: Language) -> None:
    if not issues:
        st.success(VALID_PINE if language is Language.PINE else VALID_TEXT,
                   icon=":material/check_circle:")
        return
    for issue in issues:
        where = f"Line {issue.line}, col {issue.col}" if issue.line else "Whole file"
        text = f"**{where}** · {md_escape(issue.message)}"
        if issue.severity is Severity.ERROR:
            st.error(text, icon=":material/error:")
        else:
            st.warning(text, icon=":material/warning:")


def _bound(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _params_table(source: str, language: Language) -> None:
    defs = params.user_facing(params.extract(source, language))
    pine_source = language is Language.PINE
    if not defs:
        st.caption("No parameters: declare them with `input.int(20, \"Fast length\")` and the "
                   "other input.* calls." if pine_source else "No parameters: add class "
                   "attributes such as `fast = 20  # Fast MA length; range: 5..100`.")
        return
    st.dataframe(pd.DataFrame([{
        "Parameter": p.name, "Type": p.type, "Default": str(p.default),
        "Min": _bound(p.min), "Max": _bound(p.max),
        "Description": p.description or p.title} for p in defs]),
        hide_index=True, width="stretch")
    if pine_source:
        st.caption("Parameters are the script's input.* calls: the title is the description, "
                   "minval/maxval the bounds, options a choice. The Backtest page shows them as "
                   "a bounded form; the tick size comes from the symbol.")
        return
    st.caption("Parameters are class attributes; a trailing comment gives a description and "
               "bounds: `fast = 20  # Fast MA length; range: 5..100` (also `step:` and "
               "`options: a, b`). The Backtest page shows them as a bounded form.")


def _save(settings: Settings, doc: Doc, meta: StrategyMeta, source: str) -> None:
    note = st.text_input("Version note (optional)", key=f"note_{doc.key}",
                         placeholder="what changed")
    if not st.button("Save", type="primary", key=f"save_{doc.key}"):
        return
    try:
        sid, version = strategies.save(settings.db_path, meta=meta, source=source,
                                       language=doc.language, strategy_id=doc.sid, message=note)
    except PineOptError as exc:
        show_error(exc)
        return
    unchanged = doc.sid == sid and version == doc.version
    select(sid, flash=f"Saved {meta.name}: version {version}"
           + (" (source unchanged; metadata updated)." if unchanged else "."))
    st.session_state["last_saved"] = (sid, version)
    st.rerun()


def render(settings: Settings) -> Doc:
    """The editor view; returns the document shown (for the history and actions below it)."""
    sid = _picker(settings)
    if sid is None:
        _upload(settings)
    doc = _doc(settings, sid)
    meta = _meta_form(doc)
    current = st.session_state.get(f"ace_{doc.key}") or doc.source
    issues = validation.validate_source(current, doc.language, dependencies=meta.dependencies)
    if doc.language is Language.PINE:
        pine_tab, python_tab = st.tabs(["Pine source", "Python translation"])
        with pine_tab:
            source = _ace(doc, issues)
        with python_tab:
            _translation(doc, source)
    else:
        source = _ace(doc, issues)
    _issue_list(issues, doc.language)
    _params_table(source, doc.language)
    _save(settings, doc, meta, source)
    return doc


def flash() -> None:
    """Show (once) the message an action left for the next run."""
    if message := st.session_state.pop(FLASH, None):
        st.success(md_escape(message), icon=":material/check:")
