"""The hostile corpus: plausible strategies, each hiding one attack, with its exact outcome.

Each Attack has ``rule`` (the validation rule that must reject it; "" when validation lets it
through) and ``status``/``says``: how the sandbox ends it when validation is bypassed (the
source goes straight to a Worker). ``pipeline`` is the status through the whole app (validation
on). CANARY_PATH and CANARY_PORT are replaced with the test's canary file and TCP server.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.security.harness import strategy

SIGNAL = "if self.data.Close[-1] > self.data.Open[-1]:\n    self.buy()"


@dataclass(frozen=True, slots=True, kw_only=True)
class Attack:
    """One hostile strategy and how it must end."""

    name: str
    source: str
    rule: str  # validation rule that rejects it ("" = passes validation)
    status: str  # status when run straight through the sandbox
    says: str  # text the sandbox's message must contain
    pipeline: str = ""  # status through the app; default: rejected if rule else status

    @property
    def pipeline_status(self) -> str:
        """The status expected when the app runs it (validation first)."""
        return self.pipeline or ("rejected" if self.rule else self.status)


def _n(next_: str, prelude: str = "", init: str = "pass") -> str:
    return strategy(init=init, next_=next_ + "\n" + SIGNAL, prelude=prelude)


IMPORTS = [
    Attack(name="import_os_in_next", source=_n("import os\nos.system('id')"), rule="import",
           status="rejected", says="import of 'os' is not allowed"),
    Attack(name="import_subprocess_top", source=_n("pass", prelude="import subprocess"),
           rule="import", status="rejected", says="'subprocess' is not allowed"),
    Attack(name="from_numpy_import_f2py", source=_n("f2py.compile('x')",
                                                     prelude="from numpy import f2py"),
           rule="import", status="rejected", says="from numpy import f2py"),
    Attack(name="numpy_f2py_subprocess_chain",
           source=_n("np.f2py.subprocess.run(['id'])"), rule="attribute",
           status="rejected", says="'f2py' is not allowed"),
    Attack(name="pandas_io_pickle_chain", source=_n("pd.io.pickle.loads(b'x')"), rule="attribute",
           status="rejected", says="'io' is not allowed"),
    Attack(name="dunder_import_call", source=_n("m = __import__('os')"), rule="name",
           status="rejected", says="__import__"),
    Attack(name="importlib_module", source=_n("import importlib\nimportlib.import_module('os')"),
           rule="import", status="rejected", says="'importlib' is not allowed"),
    Attack(name="backtesting_sys_reexport",
           source=_n("import backtesting\nbacktesting.backtesting.sys.modules"),
           rule="attribute", status="rejected", says="is not allowed"),
    Attack(name="datetime_sys_reexport", source=_n("import datetime\nx = datetime.sys"),
           rule="attribute", status="rejected", says="'sys' is not allowed"),
    Attack(name="scipy_io_wavfile_os", source=_n("import scipy.io.wavfile\nscipy.io.wavfile.os"),
           rule="import", status="rejected", says="'scipy.io.wavfile' is not allowed"),
    Attack(name="relative_import", source=_n("pass", prelude="from . import secrets_module"),
           rule="import", status="rejected", says="not allowed"),
]

INTROSPECTION = [
    Attack(name="subclasses_walk", source=_n("x = ().__class__.__bases__[0].__subclasses__()"),
           rule="attribute", status="rejected", says="__class__"),
    Attack(name="generator_frame_walk",
           source=_n("g = (i for i in [1])\nf = g.gi_frame.f_back.f_globals"),
           rule="attribute", status="rejected", says='"f_back" is a restricted name'),
    Attack(name="traceback_frame_walk",
           source=_n("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    t = e.__traceback__"),
           rule="attribute", status="rejected", says="__traceback__"),
    Attack(name="format_string_attribute", source=_n("s = '{0.__class__}'.format(self)"),
           rule="dunder-string", status="rejected", says="'format' is not allowed"),
    Attack(name="format_map_attribute",
           source=_n("s = '{x.data}'.format_map({'x': self})"),
           rule="attribute", status="rejected", says="'format_map' is not allowed"),
    Attack(name="mro_walk", source=_n("bases = str.mro()"), rule="attribute",
           status="rejected", says="'mro' is not allowed"),
    Attack(name="vars_builtin", source=_n("v = vars(self)"), rule="name", status="crashed",
           says="NameError: name 'vars' is not defined"),
    Attack(name="getattr_concatenated_dunder",
           source=_n("c = getattr(self, '_' + '_class_' + '_')"), rule="name",
           status="crashed", says="NameError: name 'getattr' is not defined"),
    Attack(name="monkeypatch_library", source=_n("pd.Series.sum = len"), rule="import-store",
           status="rejected", says="is not allowed"),
    Attack(name="eval_decorator", source=strategy(next_="pass", prelude="@eval\ndef f():\n    "
                                                  "return 'x'"),
           rule="name", status="crashed", says="NameError: name 'eval' is not defined"),
]

FILES = [
    Attack(name="pandas_read_csv_secret", source=_n("d = pd.read_csv('CANARY_PATH')"),
           rule="attribute", status="rejected", says="'read_csv' is not allowed"),
    Attack(name="numpy_loadtxt_shadow", source=_n("d = np.loadtxt('/etc/shadow')"),
           rule="attribute", status="rejected", says="'loadtxt' is not allowed"),
    Attack(name="pandas_to_csv_write", source=_n("self.data.df.to_csv('/tmp/pwned.csv')"),
           rule="attribute", status="rejected", says="'to_csv' is not allowed"),
    Attack(name="numpy_save_write", source=_n("np.save('/var/tmp/pwned', np.zeros(3))"),
           rule="attribute", status="rejected", says="'save' is not allowed"),
    Attack(name="builtin_open", source=_n("f = open('CANARY_PATH')"), rule="name",
           status="crashed", says="NameError: name 'open' is not defined"),
    Attack(name="numpy_memmap", source=_n("m = np.memmap('CANARY_PATH')"), rule="attribute",
           status="rejected", says="'memmap' is not allowed"),
    Attack(name="pandas_query_eval",
           source=_n("self.data.df.query('@pd.read_csv(\"CANARY_PATH\")')"), rule="attribute",
           status="rejected", says="'query' is not allowed"),
    # Library functions that open paths or import modules by name, refused because they are not
    # on the reviewed per-module list (deny by default), not because of their name.
    Attack(name="numpy_fromregex_passwd",
           source=_n("print(np.fromregex('/etc/passwd', '(.*)', [('l', 'U200')]))"),
           rule="module-name", status="rejected", says="numpy.fromregex is not allowed"),
    Attack(name="numpy_fromregex_imported",
           source=_n("print(fromregex('CANARY_PATH', '(.*)', [('l', 'U200')]))",
                     prelude="from numpy import fromregex"),
           rule="module-name", status="rejected", says="from numpy import fromregex"),
    Attack(name="pandas_show_versions_write",
           source=_n("pd.show_versions(as_json='/tmp/pwned.json')"),
           rule="module-name", status="rejected", says="pandas.show_versions is not allowed"),
    Attack(name="pandas_plotting_backend_import",
           source=_n("pd.set_option('plotting.backend', 'os')"),
           rule="module-name", status="rejected", says="pandas.set_option is not allowed"),
    Attack(name="backtesting_pool_multiprocessing",
           source=_n("import backtesting\np = backtesting.Pool(2)"),
           rule="module-name", status="rejected", says="backtesting.Pool is not allowed"),
]

NETWORK = [
    Attack(name="socket_to_canary",
           source=_n("import socket\nsocket.create_connection(('127.0.0.1', CANARY_PORT))"),
           rule="import", status="rejected", says="'socket' is not allowed"),
    Attack(name="urllib_to_canary",
           source=_n("import urllib.request\n"
                     "urllib.request.urlopen('http://127.0.0.1:CANARY_PORT')"),
           rule="import", status="rejected", says="'urllib.request' is not allowed"),
    Attack(name="pandas_url_read", source=_n("d = pd.read_json('http://127.0.0.1:CANARY_PORT/x')"),
           rule="attribute", status="rejected", says="'read_json' is not allowed"),
]

PROCESSES = [
    Attack(name="os_system_via_pandas_compat", source=_n("pd.compat.os.system('id')"),
           rule="attribute", status="rejected", says="'compat' is not allowed"),
    Attack(name="numpy_ctypeslib", source=_n("np.ctypeslib.ctypes.CDLL(None).system(b'id')"),
           rule="attribute", status="rejected", says="'ctypeslib' is not allowed"),
]

BOMBS = [
    Attack(name="cpu_busy_loop", source=_n("while True:\n    pass"), rule="",
           status="cpu_limit", says="CPU-time limit"),
    Attack(name="memory_bomb", source=_n("hoard = [0] * (10 ** 9)"), rule="",
           status="memory_limit", says="memory"),
    Attack(name="recursion_bomb", source=_n("dive(0)", prelude="def dive(n):\n    return "
                                            "dive(n + 1)"),
           rule="", status="crashed", says="line above repeated"),
    Attack(name="output_bomb", source=_n("print('x' * 50000)"), rule="", status="output_limit",
           says="printed more than"),
    Attack(name="swallowed_output_limit",
           source=_n("for i in range(100):\n    try:\n        print('y' * 50000)\n"
                     "    except Exception:\n        pass"),
           rule="", status="output_limit", says="printed more than"),
]

FORGERY = [
    Attack(name="write_broker_state", source=_n("self._broker._cash = 10 ** 12"), rule="attribute",
           status="rejected", says="_broker"),
    Attack(name="overwrite_position_method", source=_n("self.position.close = len"),
           rule="", status="rejected", says="changing Position objects is not allowed"),
    # Single-underscore names are open on the strategy's own objects only (sandbox/names.py).
    Attack(name="private_attribute_of_framework_data", source=_n("me = self.data\nx = me._arrays"),
           rule="attribute", status="rejected", says="'_arrays' is not allowed"),
    Attack(name="private_attribute_via_rebound_self",
           source=_n("pass", init="self = self.position\nself._Position__broker = None"),
           rule="attribute", status="rejected", says="_Position__broker"),
    Attack(name="redefine_guard_hook", source=_n("pass", prelude="_getattr_ = min"), rule="name",
           status="rejected", says="_getattr_"),
]

ALL = [*IMPORTS, *INTROSPECTION, *FILES, *NETWORK, *PROCESSES, *BOMBS, *FORGERY]
