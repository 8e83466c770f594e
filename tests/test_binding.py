"""Instantiating an output validates its hooks; failures name the plugin, the hook and the file."""

from __future__ import annotations

import re

import pytest
from distbuild import (
    UNKNOWN_HOOK_OUTPUT,
    WRONG_SIGNATURE_OUTPUT,
    good_module,
    simple_dist,
)
from horde.output import OutputConfigError, OutputValidationError, Params, hookimpl
from horde.output.binding import bind_output, create_output, new_plugin_manager
from horde.output.registry import load_registry

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
    line = WRONG_SIGNATURE_OUTPUT.splitlines().index("    def add_samples(self, samples, flush_now):") + 1
    assert msg == (
        f"output 'wrongsig' (horde-out-wrongsig 0.9): hook 'add_samples(self, samples, flush_now)' at "
        f"{site / 'horde_out_wrongsig' / '__init__.py'}:{line - 1} must take (samples)"
    )


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

    with pytest.raises(
        OutputValidationError, match=r"output 'nostop': required hook 'stop' is missing in .*test_binding\.py:\d+"
    ):
        bind_output("nostop", NoStop(), new_plugin_manager())


def test_unmarked_hook_is_reported_as_not_marked():
    class Unmarked(_Base):
        def stop(self, error):  # forgot @hookimpl
            pass

    with pytest.raises(OutputValidationError) as info:
        bind_output("unmarked", Unmarked(), new_plugin_manager())
    assert re.search(r"'stop' at .*test_binding\.py:\d+ is not marked with @horde.output.hookimpl", str(info.value))


def _def_line(cls, hook):
    import inspect

    fn = getattr(cls, hook)
    return f"{inspect.getsourcefile(fn)}:{inspect.getsourcelines(fn)[1]}"


class _Lean(_Base):
    @hookimpl
    def stop(self):  # pluggy accepts a subset of the spec's arguments; horde does not
        pass


class _Status(_Base):
    @hookimpl
    def set_run_status(self):  # an optional hook, one argument short
        pass


class _Renamed(_Base):
    @hookimpl
    def add_samples(self, batch):
        pass


class _Extra(_Base):
    @hookimpl
    def start(self, when):
        pass


class _Star(_Base):
    @hookimpl
    def stop(self, *args):
        pass


class _KeywordOnly(_Base):
    @hookimpl
    def stop(self, *, error):
        pass


@pytest.mark.parametrize(
    "cls, hook, shown, expected",
    [
        (_Lean, "stop", "stop(self)", "(error)"),
        (_Status, "set_run_status", "set_run_status(self)", "(status)"),
        (_Renamed, "add_samples", "add_samples(self, batch)", "(samples)"),
        (_Extra, "start", "start(self, when)", "()"),
        (_Star, "stop", "stop(self, *args)", "(error)"),
        (_KeywordOnly, "stop", "stop(self, *, error)", "(error)"),
    ],
)
def test_hook_arguments_must_match_the_hookspec_by_names_and_count(cls, hook, shown, expected):
    pm = new_plugin_manager()
    obj = cls()
    with pytest.raises(OutputValidationError) as info:
        bind_output("slow", obj, pm)
    assert str(info.value) == f"output 'slow': hook '{shown}' at {_def_line(cls, hook)} must take {expected}"
    assert not pm.is_registered(obj)


def test_signature_error_names_the_distribution(plugin_path):
    lean = good_module().replace("def stop(self, error):", "def stop(self):")
    site = plugin_path(simple_dist("horde-out-slow", "1.0", {"slow": "GoodOutput"}, lean))
    with pytest.raises(OutputValidationError) as info:
        _create("slow")
    line = lean.splitlines().index("    def stop(self):")
    assert str(info.value) == (
        f"output 'slow' (horde-out-slow 1.0): hook 'stop(self)' at "
        f"{site / 'horde_out_slow' / '__init__.py'}:{line} must take (error)"
    )


def test_hook_argument_names_come_from_the_hookspecs():
    import inspect

    from horde.output import hookspecs
    from horde.output.binding import HOOK_ARGS, HOOK_NAMES

    assert set(HOOK_NAMES) == {
        "description",
        "set_thresholds",
        "set_test_run_stop",
        "start",
        "setup_coordinator",
        "add_samples",
        "set_run_status",
        "stop",
        "report",
    }
    for name, args in HOOK_ARGS.items():
        assert args == tuple(inspect.signature(getattr(hookspecs, name)).parameters)
    assert HOOK_ARGS["stop"] == ("error",) and HOOK_ARGS["add_samples"] == ("samples",)


def test_annotations_and_defaults_do_not_matter():
    class Typed(_Base):
        @hookimpl
        def add_samples(self, samples: list) -> None:
            self.got = samples

        @hookimpl
        def stop(self, error: Exception | None = None) -> None:
            self.stopped = error

    out = bind_output("typed", Typed(), new_plugin_manager())
    out.hooks["add_samples"]([1])
    out.hooks["stop"]("e")
    assert out.obj.got == [1] and out.obj.stopped == "e"


@pytest.mark.parametrize(
    "source, tail",
    [
        (
            "def make(params):\n    return None\n",
            "the factory horde_out_notout:make returned None, not an output object",
        ),
        (
            "def make(params):\n    return object()\n",
            (
                "the factory horde_out_notout:make returned an object with no hooks "
                "(mark the output's methods with @horde.output.hookimpl)"
            ),
        ),
        (
            "from horde.output import hookimpl\n\n\nclass Out:\n    @hookimpl\n    def stop(self, error):\n        pass\n\n\n"
            "def make(params):\n    return Out\n",
            "the factory horde_out_notout:make returned the class Out, not an instance of it",
        ),
        (
            "def make(params):\n    return {'description': 'not an output'}\n",
            (
                "the factory horde_out_notout:make returned a dict with no hooks "
                "(mark the output's methods with @horde.output.hookimpl)"
            ),
        ),
    ],
)
def test_factory_returning_no_output_is_one_line_naming_output_and_distribution(plugin_path, source, tail):
    plugin_path(simple_dist("horde-out-notout", "0.4", {"notout": "make"}, source))
    with pytest.raises(OutputValidationError) as info:
        _create("notout")
    assert str(info.value) == f"output 'notout' (horde-out-notout 0.4): {tail}"


@pytest.mark.parametrize(
    "value, shown",
    [
        ("12345", "int 12345"),
        ("None", "NoneType None"),
        ("b'x'", "bytes b'x'"),
        ("['a' * 80]", "list ['" + "a" * 35 + "..."),
    ],
)
def test_description_must_return_a_str(plugin_path, value, shown):
    source = good_module().replace('return "good"', f"return {value}")
    site = plugin_path(simple_dist("horde-out-numbered", "2.0", {"numbered": "GoodOutput"}, source))
    with pytest.raises(OutputValidationError) as info:
        _create("numbered")
    line = source.splitlines().index("    def description(self):")
    assert str(info.value) == (
        f"output 'numbered' (horde-out-numbered 2.0): hook 'description()' at "
        f"{site / 'horde_out_numbered' / '__init__.py'}:{line} must return a str, not {shown}"
    )


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
    assert set(out.hooks) == {
        "description",
        "start",
        "add_samples",
        "stop",
        "set_thresholds",
        "set_test_run_stop",
        "set_run_status",
    }


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
    plugin_path(
        simple_dist(
            "horde-out-picky",
            "1",
            {"picky": "Picky"},
            "class Picky:\n    def __init__(self, params):\n        raise ValueError('bad interval: 0s')\n",
        )
    )
    with pytest.raises(OutputConfigError) as info:
        _create("picky")
    assert str(info.value) == "could not create the 'picky' output: ValueError: bad interval: 0s"
