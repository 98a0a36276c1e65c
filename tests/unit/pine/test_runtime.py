"""The runtime module is imported by untrusted generated code inside the sandbox: it must not
hand out modules or anything that touches files, processes or the network."""

from __future__ import annotations

import types

import pytest

from core.pine import runtime
from sandbox import policy


def test_runtime_exposes_no_module_objects():
    public = {name: value for name, value in vars(runtime).items() if not name.startswith("_")}
    assert not [name for name, value in public.items() if isinstance(value, types.ModuleType)]


def test_every_exported_name_is_importable_under_the_policy():
    for name in runtime.__all__:
        assert policy.attribute_allowed(name), name
        assert not isinstance(getattr(runtime, name), types.ModuleType)


@pytest.mark.parametrize("name", ["open", "os", "sys", "subprocess", "socket", "io", "pathlib",
                                  "importlib", "builtins", "eval", "exec"])
def test_no_dangerous_names_are_reachable_from_the_module(name):
    assert name not in vars(runtime) or name.startswith("_")
