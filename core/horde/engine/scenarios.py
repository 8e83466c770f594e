"""Scenarios: k6's executor configurations, from ``options`` (including the shortcuts) to a plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..durations import option_seconds as seconds  # k6 durations in scenario options
from ..errors import ExitCode, UserError
from ..segments import Share

__all__ = ["Scenario", "Stage", "scenarios_from_options", "execution_plan", "seconds"]

EXECUTORS = (
    "shared-iterations",
    "per-vu-iterations",
    "constant-vus",
    "ramping-vus",
    "constant-arrival-rate",
    "ramping-arrival-rate",
)


def _invalid(msg: str) -> UserError:
    return UserError(msg, ExitCode.INVALID_CONFIG)


@dataclasses.dataclass(frozen=True)
class Stage:
    """Go from the previous target to ``target`` over ``duration`` seconds."""

    duration: float
    target: int


@dataclasses.dataclass
class Scenario:
    """One scenario: a named executor with its settings (times in seconds)."""

    name: str
    executor: str
    exec: str = "default"
    start_time: float = 0.0
    graceful_stop: float = 30.0
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    vus: int = 1
    iterations: int = 1
    duration: float = 0.0
    max_duration: float = 600.0
    start_vus: int = 1
    stages: list[Stage] = dataclasses.field(default_factory=list)
    graceful_ramp_down: float = 30.0
    rate: float = 0.0
    start_rate: float = 0.0
    time_unit: float = 1.0
    pre_allocated_vus: int = 0
    max_vus: int = 0
    share: Share = dataclasses.field(default_factory=Share)
    """The part of the whole test's VUs (ramping-vus) or iterations (arrival rates) this process runs;
    the other executors carry their part in their numbers (see :mod:`horde.engine.segment`)."""

    @property
    def total_duration(self) -> float:
        """Seconds the executor may run, before any graceful stop."""
        if self.executor in ("shared-iterations", "per-vu-iterations"):
            return self.max_duration
        if self.executor in ("constant-vus", "constant-arrival-rate"):
            return self.duration
        return sum(s.duration for s in self.stages)

    @property
    def max_vus_needed(self) -> int:
        """How many VUs this scenario may initialize at most."""
        if self.executor == "ramping-vus":
            return self.share.scale(max([self.start_vus, *(s.target for s in self.stages)]))
        if self.executor.endswith("arrival-rate"):
            return max(self.max_vus, self.pre_allocated_vus)
        return self.vus

    def plan(self) -> dict[str, Any]:
        """This scenario as one entry of the execution plan given to outputs."""
        return {
            "name": self.name,
            "executor": self.executor,
            "start_time": self.start_time,
            "duration": self.total_duration,
            "graceful_stop": self.graceful_stop,
            "max_vus": self.max_vus_needed,
        }


_KNOWN_KEYS = {
    "executor",
    "exec",
    "startTime",
    "gracefulStop",
    "tags",
    "env",
    "vus",
    "iterations",
    "duration",
    "maxDuration",
    "startVUs",
    "stages",
    "gracefulRampDown",
    "rate",
    "startRate",
    "timeUnit",
    "preAllocatedVUs",
    "maxVUs",
}


def _positive_int(cfg: Mapping[str, Any], key: str, name: str, default: int | None = None, minimum: int = 1) -> int:
    value = cfg.get(key, default)
    if value is None:
        raise _invalid(f"scenario '{name}': {key} is required for executor {cfg.get('executor')}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < minimum:
        raise _invalid(f"scenario '{name}': {key} must be a whole number >= {minimum}, not {value!r}")
    return int(value)


def _stages(raw: Any, name: str) -> list[Stage]:
    if not isinstance(raw, list) or not raw:
        raise _invalid(f"scenario '{name}': stages must be a non-empty list of {{duration, target}}")
    out = []
    for st in raw:
        if not isinstance(st, Mapping) or "duration" not in st or "target" not in st:
            raise _invalid(f"scenario '{name}': every stage needs a duration and a target, got {st!r}")
        target = st["target"]
        if isinstance(target, bool) or not isinstance(target, (int, float)) or target < 0:
            raise _invalid(f"scenario '{name}': stage target must be >= 0, not {target!r}")
        out.append(
            Stage(seconds(st["duration"], "stage duration"), int(target) if float(target).is_integer() else target)
        )
    return out


def _scenario(name: str, cfg: Mapping[str, Any]) -> Scenario:
    if not isinstance(cfg, Mapping):
        raise _invalid(f"scenario '{name}' must be an object")
    executor = cfg.get("executor")
    if executor not in EXECUTORS:
        raise _invalid(f"scenario '{name}': unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}")
    unknown = set(cfg) - _KNOWN_KEYS
    if unknown:
        raise _invalid(f"scenario '{name}': unknown option(s) {', '.join(sorted(unknown))}")
    sc = Scenario(
        name=name,
        executor=executor,
        exec=str(cfg.get("exec", "default")),
        start_time=seconds(cfg.get("startTime", 0), "startTime"),
        graceful_stop=seconds(cfg.get("gracefulStop", "30s"), "gracefulStop"),
        tags={str(k): str(v) for k, v in (cfg.get("tags") or {}).items()},
        env={str(k): str(v) for k, v in (cfg.get("env") or {}).items()},
    )
    if executor in ("shared-iterations", "per-vu-iterations"):
        sc.vus = _positive_int(cfg, "vus", name, 1)
        sc.iterations = _positive_int(cfg, "iterations", name, 1)
        sc.max_duration = seconds(cfg.get("maxDuration", "10m"), "maxDuration")
        if executor == "shared-iterations" and sc.iterations < sc.vus:
            raise _invalid(
                f"scenario '{name}': the number of iterations ({sc.iterations}) can't be less than the number of VUs ({sc.vus})"
            )
    elif executor == "constant-vus":
        sc.vus = _positive_int(cfg, "vus", name, 1)
        if "duration" not in cfg:
            raise _invalid(f"scenario '{name}': duration is required for constant-vus")
        sc.duration = seconds(cfg["duration"])
    elif executor == "ramping-vus":
        sc.start_vus = _positive_int(cfg, "startVUs", name, 1, minimum=0)
        sc.stages = _stages(cfg.get("stages"), name)
        sc.graceful_ramp_down = seconds(cfg.get("gracefulRampDown", "30s"), "gracefulRampDown")
    else:
        sc.time_unit = seconds(cfg.get("timeUnit", "1s"), "timeUnit")
        sc.pre_allocated_vus = _positive_int(cfg, "preAllocatedVUs", name, None, minimum=0)
        sc.max_vus = _positive_int(cfg, "maxVUs", name, sc.pre_allocated_vus, minimum=0)
        if sc.max_vus < sc.pre_allocated_vus:
            raise _invalid(f"scenario '{name}': maxVUs can't be less than preAllocatedVUs")
        if sc.max_vus < 1:
            raise _invalid(f"scenario '{name}': needs at least one VU (preAllocatedVUs/maxVUs)")
        if executor == "constant-arrival-rate":
            rate = cfg.get("rate")
            if not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate <= 0:
                raise _invalid(f"scenario '{name}': rate must be a number > 0, not {rate!r}")
            sc.rate = float(rate)
            if "duration" not in cfg:
                raise _invalid(f"scenario '{name}': duration is required for constant-arrival-rate")
            sc.duration = seconds(cfg["duration"])
        else:
            sc.start_rate = float(cfg.get("startRate", 0))
            sc.stages = _stages(cfg.get("stages"), name)
    return sc


def scenarios_from_options(options: Mapping[str, Any]) -> list[Scenario]:
    """The scenarios of a run: ``options.scenarios``, or the one k6's shortcuts describe."""
    scenarios = options.get("scenarios")
    if scenarios:
        if not isinstance(scenarios, Mapping):
            raise _invalid("options.scenarios must be an object of name: config")
        return [_scenario(str(n), c) for n, c in scenarios.items()]
    vus = options.get("vus")
    duration = options.get("duration")
    iterations = options.get("iterations")
    stages = options.get("stages")
    if stages:
        cfg: dict[str, Any] = {
            "executor": "ramping-vus",
            "startVUs": vus if vus is not None else 1,
            "stages": stages,
            "gracefulStop": "30s",
        }
    elif iterations is not None:
        cfg = {"executor": "shared-iterations", "vus": vus or 1, "iterations": iterations}
        if duration:
            cfg["maxDuration"] = duration
    elif duration and seconds(duration) > 0:
        cfg = {"executor": "constant-vus", "vus": vus or 1, "duration": duration}
    else:
        cfg = {"executor": "per-vu-iterations", "vus": vus or 1, "iterations": 1}
    return [_scenario("default", cfg)]


def execution_plan(scenarios: list[Scenario]) -> list[dict[str, Any]]:
    """What outputs get as ``Params.execution_plan``: one dict per scenario."""
    return [s.plan() for s in scenarios]
