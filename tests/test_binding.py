"""Instantiating an output validates its hooks; failures name the plugin, the hook and the file."""

from __future__ import annotations

import re

import pytest

from distbuild import UNKNOWN_HOOK_OUTPUT, WRONG_SIGNATURE_OUTPUT, good_module, simple_dist
from horde.output import (
    OutputConfigError,
    OutputValidationError,
    Params,
    bind_output,
    create_output,
    hookimpl,
    load_registry,
    new_plugin_manager,
)

pytestmark = pytest.mark.usefixtures("horde_env")


def _create(name):
    reg = load_registry({})
    return create_output(reg.get(name), Params(name), new_plugin_manager())


def test_valid_output_is_bound_with_its_hooks(plugin_path):
    plugin_path(simple_dist("horde-out-valid", "1.0", {"valid": "GoodOutput"}, good_module(label="valid!")))
    pm = new_plugin_manager()
    out = create_output(load_registry({}).get("valid"), Params("valid", "arg=1"), pm)
    assert out.name == "valid"
    assert sorted(out.hooks) == ["add_samples", "description", "start", "stop"]
    assert out.description() == "valid!"
    assert out.obj.params.config_argument == "arg=1"
    assert out.obj.params.logger.name == "horde.output.valid"
    out.hooks["start"]()
    assert out.obj.calls == ["start"]
    assert pm.is_registered(out.obj)


def test_wrong_signature_names_plugin_hook_and_file(plugin_path):
    site = plugin_path(simple_dist("horde-out-wrongsig", "0.9", {"wrongsig": "WrongOutput"}, WRONG_SIGNATURE_OUTPUT))
    with pytest.raises(OutputValidationError) as info:
        _create("wrongsig")
    msg = str(info.value)
    assert "\n" not in msg
    assert "'wrongsig'" in msg and "horde-out-wrongsig 0.9" in msg
    assert "hook 'add_samples'" in msg
    line = WRONG_SIGNATURE_OUTPUT.splitlines().index("    def add_samples(self, samples, flush_now):") + 1
    assert f"{site / 'horde_out_wrongsig' / '__init__.py'}:{line - 1}" in msg or \
        f"{site / 'horde_out_wrongsig' / '__init__.py'}:{line}" in msg
    assert "flush_now" in msg


def test_unknown_hook_names_plugin_hook_file_and_suggests(plugin_path):
    site = plugin_path(simple_dist("horde-out-typo", "2.0", {"typo": "TypoOutput"}, UNKNOWN_HOOK_OUTPUT))
    with pytest.raises(OutputValidationError) as info:
        _create("typo")
    msg = str(info.value)
    assert "'typo'" in msg and "horde-out-typo 2.0" in msg
    assert "unknown hook 'stopp'" in msg and "did you mean 'stop'?" in msg
    assert str(site / "horde_out_typo" / "__init__.py") in msg


class _Base:
    def __init__(self, params=None):
        pass

    @hookimpl
    def description(self):
        return "base"

    @hookimpl
    def start(self):
        pass

    @hookimpl
    def add_samples(self, samples):
        pass

    @hookimpl
    def stop(self, error):
        pass


def test_missing_required_hook_is_reported():
    class NoStop:
        @hookimpl
        def description(self):
            return "x"

        @hookimpl
        def start(self):
            pass

        @hookimpl
        def add_samples(self, samples):
            pass

    with pytest.raises(OutputValidationError, match=r"output 'nostop': required hook 'stop' is missing in .*test_binding\.py:\d+"):
        bind_output("nostop", NoStop(), new_plugin_manager())


def test_unmarked_hook_is_reported_as_not_marked():
    class Unmarked(_Base):
        def stop(self, error):  # forgot @hookimpl
            pass

    with pytest.raises(OutputValidationError) as info:
        bind_output("unmarked", Unmarked(), new_plugin_manager())
    assert re.search(r"'stop' at .*test_binding\.py:\d+ is not marked with @horde.output.hookimpl", str(info.value))


def test_hookimpl_with_fewer_arguments_is_accepted():
    class Lean(_Base):
        @hookimpl
        def stop(self):  # pluggy allows a subset of the spec's arguments
            self.stopped = True

    out = bind_output("lean", Lean(), new_plugin_manager())
    out.hooks["stop"]()
    assert out.obj.stopped


def test_optional_hooks_are_bound_when_present():
    class Full(_Base):
        @hookimpl
        def set_thresholds(self, thresholds):
            pass

        @hookimpl
        def set_test_run_stop(self, stop):
            pass

        @hookimpl
        def set_run_status(self, status):
            pass

    out = bind_output("full", Full(), new_plugin_manager())
    assert set(out.hooks) == {"description", "start", "add_samples", "stop", "set_thresholds",
                              "set_test_run_stop", "set_run_status"}


def test_failed_validation_leaves_the_plugin_manager_clean():
    class Bad(_Base):
        @hookimpl
        def add_sample(self, samples):
            pass

    pm = new_plugin_manager()
    obj = Bad()
    with pytest.raises(OutputValidationError):
        bind_output("bad", obj, pm)
    assert not pm.is_registered(obj)
    bind_output("good", _Base(), pm)  # the manager still works


def test_same_output_twice_in_one_plugin_manager():
    pm = new_plugin_manager()
    a = bind_output("csv", _Base(), pm)
    b = bind_output("csv", _Base(), pm)
    assert a.obj is not b.obj and pm.is_registered(a.obj) and pm.is_registered(b.obj)


def test_factory_error_is_a_config_error_naming_the_output(plugin_path):
    plugin_path(simple_dist("horde-out-picky", "1", {"picky": "Picky"},
                            "class Picky:\n    def __init__(self, params):\n        raise ValueError('bad interval: 0s')\n"))
    with pytest.raises(OutputConfigError) as info:
        _create("picky")
    assert str(info.value) == "could not create the 'picky' output: ValueError: bad interval: 0s"
