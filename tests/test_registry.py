"""The output registry: entry points of installed distributions, duplicates, broken plugins, autoload."""

from __future__ import annotations

import importlib
import sys

import pytest
from distbuild import BROKEN_OUTPUT, good_module, simple_dist
from horde.output import DuplicateOutputError, OutputLoadError, Params, Provider, UnknownOutputError
from horde.output import registry as registry_mod
from horde.output.binding import create_output, new_plugin_manager
from horde.output.listing import describe_plugins
from horde.output.registry import OutputRegistry, load_registry

pytestmark = pytest.mark.usefixtures("horde_env")


def test_builtin_json_is_registered_with_horde_as_provider():
    reg = load_registry({})
    plugin = reg.get("json")
    assert plugin.provider.distribution == "horde"
    assert plugin.provider.builtin
    assert plugin.target == "horde.outputs.json:JsonOutput"
    from horde.outputs.json import JsonOutput

    assert plugin.load() is JsonOutput


def test_entry_point_of_installed_distribution_is_found_without_importing(plugin_path):
    plugin_path(
        simple_dist(
            "horde-out-lazy",
            "1.2.3",
            {"lazy": "LazyOutput"},
            good_module("LazyOutput") + "\nimport sys\nsys.modules['horde_test_lazy_imported'] = True\n",
        )
    )
    reg = load_registry({})
    assert reg.names() == ["json", "lazy"]
    plugin = reg.get("lazy")
    assert (plugin.provider.distribution, plugin.provider.version) == ("horde-out-lazy", "1.2.3")
    assert plugin.target == "horde_out_lazy:LazyOutput"
    assert "horde_out_lazy" not in sys.modules
    with pytest.raises(UnknownOutputError):
        reg.get("nope")
    assert "horde_out_lazy" not in sys.modules and "horde_test_lazy_imported" not in sys.modules
    factory = plugin.load()
    assert factory.__name__ == "LazyOutput"
    assert sys.modules.pop("horde_test_lazy_imported") is True


def test_unknown_output_lists_installed_ones(plugin_path):
    plugin_path(simple_dist("horde-out-aaa", "1.0", {"aaa": "GoodOutput"}, good_module()))
    with pytest.raises(UnknownOutputError) as info:
        load_registry({}).get("influx")
    assert str(info.value) == "invalid output type 'influx', available types are: aaa, json"


def test_two_distributions_with_one_output_name_are_a_conflict_naming_both(plugin_path):
    plugin_path(
        simple_dist("horde-out-alpha", "1.0", {"dup": "GoodOutput"}, good_module()),
        simple_dist("horde-out-beta", "2.5", {"dup": "GoodOutput"}, good_module()),
        simple_dist("horde-out-other", "1.0", {"other": "GoodOutput"}, good_module()),
    )
    reg = load_registry({})  # discovery does not break
    with pytest.raises(DuplicateOutputError) as info:
        reg.get("dup")
    msg = str(info.value)
    assert msg.startswith("output extension already registered: dup (provided by ")
    assert "horde-out-alpha 1.0" in msg and "horde-out-beta 2.5" in msg and "uninstall one of them" in msg
    assert "\n" not in msg
    assert set(info.value.places) == {"horde-out-alpha 1.0", "horde-out-beta 2.5"}
    assert sorted(p.provider.distribution for p in reg.conflict("dup")) == ["horde-out-alpha", "horde-out-beta"]
    # every other name is unaffected
    assert reg.get("other").provider.distribution == "horde-out-other"
    assert create_output(reg.get("json"), Params("json", "-"), new_plugin_manager()).description() == "json(stdout)"
    listing = [(p["name"], p["distribution"], p["status"], p["error"]) for p in describe_plugins(reg)["plugins"]]
    dups = [row for row in listing if row[0] == "dup"]
    assert sorted(d[1] for d in dups) == ["horde-out-alpha", "horde-out-beta"]
    assert all(d[2] == "conflict" and d[3] == msg for d in dups)
    assert ("other", "horde-out-other", "ok", None) in listing


def test_third_party_output_named_like_a_builtin_is_a_conflict(plugin_path):
    plugin_path(simple_dist("horde-out-myjson", "0.3", {"json": "GoodOutput"}, good_module()))
    with pytest.raises(DuplicateOutputError) as info:
        load_registry({}).get("json")
    assert "horde 0.1.0 (built-in)" in str(info.value) and "horde-out-myjson 0.3" in str(info.value)


def test_same_distribution_twice_on_sys_path_is_one_provider(plugin_path):
    # an editable install and a regular install of the same distribution
    plugin_path(simple_dist("horde-out-twice", "1.0", {"twice": "GoodOutput"}, good_module()))
    plugin_path(simple_dist("horde_out.Twice", "1.1", {"twice": "GoodOutput"}, good_module()))
    reg = load_registry({})
    assert reg.names() == ["json", "twice"]
    assert reg.get("twice").provider.key == "horde-out-twice"


def test_broken_plugin_is_recorded_and_breaks_nothing_else(plugin_path):
    plugin_path(
        simple_dist("horde-out-broken", "0.1", {"broken": "BrokenOutput"}, BROKEN_OUTPUT),
        simple_dist("horde-out-fine", "0.2", {"fine": "GoodOutput"}, good_module()),
    )
    reg = load_registry({})
    assert reg.names() == ["broken", "fine", "json"]
    broken = reg.get("broken")
    reason = broken.broken
    assert reason is not None and "\n" not in reason
    assert "'broken'" in reason and "horde-out-broken 0.1" in reason
    assert "horde_out_broken:BrokenOutput" in reason and "horde_missing_dependency_xyz" in reason
    with pytest.raises(OutputLoadError) as info:
        broken.load()
    assert str(info.value) == reason
    assert reg.get("fine").broken is None
    listing = {p["name"]: p for p in describe_plugins(reg)["plugins"]}
    assert listing["broken"]["status"] == "broken" and listing["broken"]["error"] == reason
    assert listing["broken"]["hooks"] is None
    assert listing["fine"]["status"] == "ok" and listing["json"]["status"] == "ok"
    assert listing["fine"]["hooks"] == ["description", "start", "add_samples", "stop"]
    assert listing["fine"]["description"] == "A good test output."
    # the json output still works while a broken plugin is installed
    out = create_output(reg.get("json"), Params("json", "-"), new_plugin_manager())
    assert out.description() == "json(stdout)"


def test_plugin_raising_non_import_error_is_broken_too(plugin_path):
    plugin_path(simple_dist("horde-out-boom", "1", {"boom": "X"}, "raise RuntimeError('boom at import')\n"))
    reason = load_registry({}).get("boom").broken
    assert "RuntimeError: boom at import" in reason


def test_entry_point_to_missing_attribute_is_broken(plugin_path):
    plugin_path(simple_dist("horde-out-noattr", "1", {"noattr": "Nope"}, good_module()))
    reason = load_registry({}).get("noattr").broken
    assert "horde_out_noattr:Nope" in reason and "AttributeError" in reason


def test_autoload_disabled_loads_only_builtins_and_named_plugins(plugin_path):
    plugin_path(
        simple_dist("horde-out-one", "1", {"one": "GoodOutput"}, good_module()),
        simple_dist("horde-out-two", "1", {"two": "GoodOutput"}, good_module()),
        # a conflict that only matters when both are loaded
        simple_dist("horde-out-three", "1", {"one": "GoodOutput"}, good_module()),
    )
    assert load_registry({"HORDE_DISABLE_PLUGIN_AUTOLOAD": "1"}).names() == ["json"]
    reg = load_registry({"HORDE_DISABLE_PLUGIN_AUTOLOAD": "1", "HORDE_PLUGINS": "two, horde-out-three"})
    assert reg.names() == ["json", "one", "two"]
    assert reg.get("one").provider.distribution == "horde-out-three"
    assert load_registry({"HORDE_DISABLE_PLUGIN_AUTOLOAD": "1"}, only=["two"]).names() == ["json", "two"]
    spelled = load_registry({"HORDE_DISABLE_PLUGIN_AUTOLOAD": "true", "HORDE_PLUGINS": "Horde_Out.Three"})
    assert spelled.names() == ["json", "one"]
    with pytest.raises(DuplicateOutputError):
        load_registry({"HORDE_DISABLE_PLUGIN_AUTOLOAD": "0"}).get("one")


def test_autoload_reads_process_environment_by_default(plugin_path, monkeypatch):
    plugin_path(simple_dist("horde-out-envy", "1", {"envy": "GoodOutput"}, good_module()))
    assert "envy" in load_registry().names()
    monkeypatch.setenv("HORDE_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert load_registry().names() == ["json"]


class _Factory:
    def __init__(self, params):
        self.params = params


def test_register_extension_rejects_a_second_distribution_naming_both():
    reg = OutputRegistry()
    first = reg.register_extension("mine", _Factory, provider=Provider("horde-out-mine", "1.0"))
    assert reg.get("mine") is first and first.load() is _Factory
    with pytest.raises(DuplicateOutputError) as info:
        reg.register_extension("mine", lambda p: None, provider=Provider("other-dist", "3.1"))
    msg = str(info.value)
    assert msg.startswith("output extension already registered: mine (provided by horde-out-mine 1.0 registered at ")
    assert "and by other-dist 3.1 registered at " in msg and "\n" not in msg
    # the same distribution again raises too: only entry points seen twice are one provider
    with pytest.raises(DuplicateOutputError, match="horde-out-mine 1.0 registered at .* and by Horde_Out.Mine 1.0"):
        reg.register_extension("mine", _Factory, provider=Provider("Horde_Out.Mine", "1.0"))
    assert reg.get("mine") is first


def test_register_extension_in_the_same_module_twice_raises_naming_both_places():
    reg = OutputRegistry()
    first = reg.register_extension("twice", _Factory)
    here = f"{__file__}:"
    assert first.target == f"{__name__}:_Factory" and first.module == __name__ and first.source == "code"
    assert first.registered_at.startswith(here)
    for factory in (_Factory, annotated):  # the same factory, and another one
        with pytest.raises(DuplicateOutputError) as info:
            reg.register_extension("twice", factory)
        msg = str(info.value)
        assert msg.startswith(
            f"output extension already registered: twice (provided by {__name__}:_Factory registered at {here}"
        )
        assert f"and by {__name__}:{factory.__qualname__} registered at {here}" in msg
        assert msg.endswith("; remove one of them)")
        assert info.value.places[0] != info.value.places[1]  # two lines of this file
    assert reg.get("twice") is first


MODULE_A = "from horde.output import register_extension\n\n\nclass A:\n    pass\n\n\nregister_extension('shared', A)\n"
MODULE_B = "from horde.output import register_extension\n\n\ndef make_b(params):\n    pass\n\n\nregister_extension('shared', make_b)\n"


@pytest.fixture
def process_registry(monkeypatch):
    """A fresh process-wide registry for this test (discovered from the test's sys.path)."""
    monkeypatch.setattr(registry_mod, "_default", None)
    return registry_mod


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """``modules(name=source, ...)``: write modules to a directory on sys.path; dropped from sys.modules after."""
    root = tmp_path / "mods"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    written = []

    def write(**sources):
        for name, text in sources.items():
            (root / f"{name}.py").write_text(text)
            written.append(name)
        importlib.invalidate_caches()
        return root

    yield write
    for name in written:
        sys.modules.pop(name, None)


def test_two_modules_registering_one_name_raise_naming_both(process_registry, modules):
    root = modules(horde_test_mod_a=MODULE_A, horde_test_mod_b=MODULE_B)
    importlib.import_module("horde_test_mod_a")
    with pytest.raises(DuplicateOutputError) as info:
        importlib.import_module("horde_test_mod_b")
    msg = str(info.value)
    assert f"horde_test_mod_a:A registered at {root / 'horde_test_mod_a.py'}:8" in msg
    assert f"horde_test_mod_b:make_b registered at {root / 'horde_test_mod_b.py'}:8" in msg
    plugin = process_registry.default_registry().get("shared")
    assert plugin.module == "horde_test_mod_a" and plugin.target == "horde_test_mod_a:A"


def test_code_registration_of_an_installed_name_raises_naming_the_distribution(process_registry, plugin_path):
    plugin_path(simple_dist("horde-out-taken", "4.2", {"taken": "GoodOutput"}, good_module()))
    with pytest.raises(DuplicateOutputError) as info:
        process_registry.register_extension("taken", _Factory)
    msg = str(info.value)
    assert "provided by horde-out-taken 4.2 and by " in msg and f"{__name__}:_Factory registered at {__file__}:" in msg


def test_installed_name_discovered_after_a_code_registration_is_a_conflict(plugin_path):
    reg = OutputRegistry()
    reg.register_extension("late", _Factory)
    plugin_path(simple_dist("horde-out-late", "1.0", {"late": "GoodOutput"}, good_module()))
    reg.discover({})
    with pytest.raises(DuplicateOutputError) as info:
        reg.get("late")
    assert f"{__name__}:_Factory registered at" in str(info.value) and "horde-out-late 1.0" in str(info.value)
    assert [p["status"] for p in describe_plugins(reg)["plugins"] if p["name"] == "late"] == ["conflict", "conflict"]


def test_discovery_is_repeatable_without_duplicates(plugin_path):
    plugin_path(simple_dist("horde-out-again", "1.0", {"again": "GoodOutput"}, good_module()))
    reg = load_registry({})
    reg.discover({})
    reg.discover({}, only=["again"])
    assert reg.names() == ["again", "json"] and reg.conflict("again") == []


def test_register_extension_rejects_a_factory_that_is_not_callable():
    with pytest.raises(
        OutputLoadError, match=r"output 'num' from \?:42 registered at .*: the factory 42 is not callable"
    ):
        OutputRegistry().register_extension("num", 42)


@pytest.mark.parametrize("name", ["bad name", "", "-x", "ok\n", "a=b"])
def test_register_extension_rejects_bad_names(name):
    with pytest.raises(OutputLoadError, match="invalid output name"):
        OutputRegistry().register_extension(name, _Factory)


def test_module_level_register_extension_uses_the_process_registry(process_registry):
    plugin = process_registry.register_extension("procwide", _Factory, provider=Provider("x", "1"))
    assert process_registry.default_registry().get("procwide") is plugin
    assert "json" in process_registry.default_registry()
    with pytest.raises(DuplicateOutputError, match="json"):
        process_registry.register_extension("json", _Factory, provider=Provider("y", "1"))


def test_entry_point_with_invalid_name_is_broken_not_fatal(plugin_path):
    plugin_path(
        simple_dist("horde-out-spacey", "1", {"bad name": "GoodOutput"}, good_module()),
        simple_dist("horde-out-fine2", "1", {"fine2": "GoodOutput"}, good_module()),
    )
    reg = load_registry({})
    assert "fine2" in reg.names()
    listing = {p["name"]: p for p in describe_plugins(reg)["plugins"]}
    assert listing["bad name"]["status"] == "broken"
    assert "invalid output name 'bad name'" in listing["bad name"]["error"]
    assert listing["fine2"]["status"] == "ok"


def test_entry_point_to_a_module_is_broken_because_not_callable(plugin_path):
    dist = simple_dist("horde-out-modonly", "1", {}, good_module())
    dist.outputs = {"modonly": "horde_out_modonly"}
    plugin_path(dist)
    reason = load_registry({}).get("modonly").broken
    assert "is not callable" in reason


def test_hooks_are_listed_for_classes_and_annotated_factories():
    reg = OutputRegistry()
    reg.register_extension("cls", G, provider=Provider("d1", "1"))
    reg.register_extension("annotated", annotated, provider=Provider("d2", "1"))
    reg.register_extension("bare", bare, provider=Provider("d3", "1"))
    listing = {p["name"]: p for p in describe_plugins(reg)["plugins"]}
    hooks = ["description", "start", "add_samples", "stop"]
    assert listing["cls"]["hooks"] == hooks and listing["annotated"]["hooks"] == hooks
    assert listing["bare"]["hooks"] is None and listing["bare"]["status"] == "ok"
    assert listing["cls"]["description"] == "G doc." and listing["annotated"]["description"] == "Make a G."


_ns: dict = {}
exec(compile(good_module(cls="G", doc="G doc.", label="g"), "<g>", "exec"), _ns)
G = _ns["G"]


def annotated(params) -> G:  # a string under ``from __future__ import annotations``
    """Make a G."""
    return G(params)


def bare(params):
    return G(params)


CODE_OUTPUT = '''\
from horde.output import hookimpl, register_extension


class CodeOutput:
    """An output registered in code."""

    def __init__(self, params):
        pass

    @hookimpl
    def description(self):
        return "code"

    @hookimpl
    def start(self):
        pass

    @hookimpl
    def add_samples(self, samples):
        pass

    @hookimpl
    def stop(self, error):
        pass


register_extension("{name}", CodeOutput)
'''


def test_horde_plugins_and_plugin_option_import_modules_into_the_process_registry(process_registry, modules):
    from horde.output.extensions import prepare_registry

    modules(horde_test_code_one=CODE_OUTPUT.format(name="one"), horde_test_code_two=CODE_OUTPUT.format(name="two"))
    reg = prepare_registry({"HORDE_PLUGINS": "horde_test_code_one"}, ["horde_test_code_two"])
    assert reg is process_registry.default_registry()
    one, two = reg.get("one"), reg.get("two")
    assert (one.module, one.target, one.source) == ("horde_test_code_one", "horde_test_code_one:CodeOutput", "code")
    assert two.module == "horde_test_code_two"
    # importing is idempotent: naming the module again registers nothing twice
    assert prepare_registry({"HORDE_PLUGINS": "horde_test_code_one"}, ["horde_test_code_one"]) is reg
    listing = {p["name"]: p for p in describe_plugins(reg)["plugins"]}
    assert listing["one"] == {
        "name": "one",
        "distribution": None,
        "version": None,
        "builtin": False,
        "source": "code",
        "module": "horde_test_code_one",
        "target": "horde_test_code_one:CodeOutput",
        "description": "An output registered in code.",
        "hooks": ["description", "start", "add_samples", "stop"],
        "status": "ok",
        "error": None,
    }


def test_plugin_module_from_the_search_path_only(process_registry, tmp_path):
    from horde.output.extensions import prepare_registry

    beside = tmp_path / "beside"
    beside.mkdir()
    (beside / "horde_test_beside.py").write_text(CODE_OUTPUT.format(name="beside"))
    try:
        reg = prepare_registry({}, ["horde_test_beside"], search_path=[str(beside)])
        assert reg.get("beside").module == "horde_test_beside"
        assert str(beside) not in sys.path
    finally:
        sys.modules.pop("horde_test_beside", None)


@pytest.mark.parametrize(
    "source, expected",
    [
        (
            None,
            (
                "plugin module 'horde_test_nosuch' (--plugin) not found: ModuleNotFoundError: No module named "
                "'horde_test_nosuch' (put its directory on PYTHONPATH or beside the script)"
            ),
        ),
        (
            "import horde_missing_dependency_xyz\n",
            (
                "plugin module 'horde_test_bad' (--plugin) cannot be imported: "
                "ModuleNotFoundError: No module named 'horde_missing_dependency_xyz'"
            ),
        ),
        ("def broken(:\n", "plugin module 'horde_test_bad' (--plugin) cannot be imported: SyntaxError: "),
        (
            "raise RuntimeError('no config')\n",
            ("plugin module 'horde_test_bad' (--plugin) cannot be imported: RuntimeError: no config"),
        ),
        ("import sys\nsys.exit(3)\n", "plugin module 'horde_test_bad' (--plugin) cannot be imported: SystemExit: 3"),
    ],
)
def test_plugin_module_that_cannot_be_imported_is_one_line_exit_104(process_registry, modules, source, expected):
    from horde.errors import ExitCode
    from horde.output.errors import PluginModuleError
    from horde.output.extensions import prepare_registry

    name = "horde_test_nosuch"
    if source is not None:
        name = "horde_test_bad"
        modules(horde_test_bad=source)
    with pytest.raises(PluginModuleError) as info:
        prepare_registry({}, [name])
    assert str(info.value).startswith(expected) and "\n" not in str(info.value)
    assert info.value.exit_code == ExitCode.INVALID_CONFIG == 104


def test_horde_plugins_entry_that_is_no_module_name_is_named(process_registry):
    from horde.output.errors import PluginModuleError
    from horde.output.extensions import prepare_registry

    with pytest.raises(PluginModuleError, match="HORDE_PLUGINS: 'horde-out-nowhere' is neither an installed output"):
        prepare_registry({"HORDE_PLUGINS": "json, horde-out-nowhere"})


def test_horde_plugins_output_and_distribution_names_keep_their_meaning(process_registry, plugin_path, monkeypatch):
    from horde.output.extensions import prepare_registry

    plugin_path(
        simple_dist("horde-out-named", "1", {"named": "GoodOutput"}, good_module()),
        simple_dist("horde-out-bydist", "1", {"bydist": "GoodOutput"}, good_module()),
        simple_dist("horde-out-skipped", "1", {"skipped": "GoodOutput"}, good_module()),
    )
    env = {"HORDE_DISABLE_PLUGIN_AUTOLOAD": "1", "HORDE_PLUGINS": "named"}
    monkeypatch.setenv("HORDE_DISABLE_PLUGIN_AUTOLOAD", "1")  # the process registry's first discovery
    reg = prepare_registry(env, ["Horde_Out.ByDist"])
    assert reg.names() == ["bydist", "json", "named"]
    assert "horde_out_named" not in sys.modules  # named entry points are not imported as modules
    assert prepare_registry(env, outputs=["skipped"]).names() == ["bydist", "json", "named", "skipped"]


def test_a_plugin_module_registering_a_taken_name_raises_the_duplicate(process_registry, modules):
    from horde.output.extensions import prepare_registry

    modules(horde_test_mod_a=MODULE_A, horde_test_mod_b=MODULE_B)
    with pytest.raises(
        DuplicateOutputError, match="horde_test_mod_a:A registered at .* and by horde_test_mod_b:make_b"
    ):
        prepare_registry({"HORDE_PLUGINS": "horde_test_mod_a,horde_test_mod_b"})
