"""What a user may set: each task's training options as one dataclass, checked the same way from Python
(`train(lr=1e-3)`) and from the command line (`--lr 1e-3`), with one-line errors that name the option and
its allowed range. The command line's options, defaults and help are generated from the dataclass, so the
two faces cannot drift apart.
"""
from __future__ import annotations

import argparse
import dataclasses
import numbers as _numbers
import os
from pathlib import Path
from typing import Any, Callable


class UserError(ValueError):
    """A mistake in the user's input: reported as one line, without a traceback."""


class BadValue(argparse.ArgumentTypeError, ValueError):
    """A value outside what an option allows; argparse prints its message after the option's name."""


Check = Callable[[Any], Any]


def integer(low: int, high: int) -> Check:
    """An integer in [low, high], given as text or as a Python integer (never a bool or a float)."""
    def parse(value: Any) -> int:
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise BadValue(f"expected an integer in [{low}, {high}], got {value!r}") from None
        elif isinstance(value, bool) or not isinstance(value, _numbers.Integral):
            raise BadValue(f"expected an integer in [{low}, {high}], got {value!r}")
        if not low <= value <= high:
            raise BadValue(f"expected an integer in [{low}, {high}], got {value}")
        return int(value)
    parse.__name__ = "integer"
    return parse


def number(low: float, high: float, above: bool = False) -> Check:
    """A finite number in [low, high] (or (low, high] when `above`), never NaN, as text or a Python number."""
    interval = f"{'(' if above else '['}{low:g}, {high:g}]"

    def parse(value: Any) -> float:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise BadValue(f"expected a number in {interval}, got {value!r}") from None
        elif isinstance(value, bool) or not isinstance(value, _numbers.Real):
            raise BadValue(f"expected a number in {interval}, got {value!r}")
        value = float(value)
        if not (low < value <= high if above else low <= value <= high):  # NaN fails both
            raise BadValue(f"expected a number in {interval}, got {value:g}")
        return value
    parse.__name__ = "number"
    return parse


def numbers(low: float, high: float, above: bool = False) -> Check:
    """Comma-separated numbers (or a Python sequence of them), each as `number(low, high, above)` checks it."""
    one = number(low, high, above)

    def parse(value: Any) -> list:
        if isinstance(value, str):
            parts = value.split(",")
            if not all(part.strip() for part in parts):
                raise BadValue(f"expected comma-separated numbers such as 15,25,50, got {value!r}")
            value = parts
        elif isinstance(value, _numbers.Real):
            value = [value]
        values = [one(part) for part in value]
        if not values:
            raise BadValue("expected at least one number")
        return values
    parse.__name__ = "numbers"
    return parse


def choice(*allowed: str) -> Check:
    """One of the `allowed` words."""
    def parse(value: Any) -> str:
        if value not in allowed:
            raise BadValue(f"expected one of {', '.join(allowed)}, got {value!r}")
        return value
    parse.__name__ = "choice"
    parse.choices = allowed
    return parse


def filesystem_path(value: Any) -> Path:
    """A file or folder name (its existence is the task's to check, with the task's words)."""
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise BadValue(f"expected a path, got {value!r}")
    return Path(value)


def flag(value: Any) -> bool:
    """True or False."""
    if not isinstance(value, bool):
        raise BadValue(f"expected True or False, got {value!r}")
    return value


SEED = integer(0, 2 ** 32 - 1)
LEARNING_RATE = number(0, 10)
EPOCHS = integer(1, 100_000)
MINUTES = number(0, 7 * 24 * 60, above=True)  # up to a week


def option(default: Any, check: Check | None = None, help: str = "", *, cli: str | None = None,
           group: str | None = None, metavar: str | None = None) -> Any:
    """A dataclass field that is also a command-line option: `check` validates and converts a value,
    `cli` overrides the flag (default --name-with-dashes; a True-by-default bool is switched off by it),
    options of one `group` exclude each other on the command line."""
    if isinstance(default, bool) and check is None:
        check = flag
    return dataclasses.field(default=default, metadata={"check": check, "help": help, "cli": cli, "group": group,
                                                        "metavar": metavar})


def epochs_option(default: int) -> Any:
    return option(default, EPOCHS, "passes over the data")


def minutes_option(default: float) -> Any:
    return option(float(default), MINUTES, "wall-time budget in minutes, up to a week")


@dataclasses.dataclass
class Settings:
    """What every task's training shares: the budget, the seed and how often a checkpoint is written."""
    epochs: int = epochs_option(1)
    minutes: float = minutes_option(30)
    seed: int = option(0, SEED, "seed for initialisation, shuffling and sampling")
    checkpoint_every: int = option(100, integer(1, 10_000_000), "steps between checkpoints")


# Options that change how long or how often, never what is computed: they may differ on resume.
BUDGET = ("minutes", "checkpoint_every")


def flag_of(item: dataclasses.Field) -> str:
    return item.metadata.get("cli") or "--" + item.name.replace("_", "-")


def check(config: Any) -> Any:
    """The config with every field validated and converted (text to numbers, str to Path), or a UserError
    naming the field."""
    values = {}
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        validate = item.metadata.get("check")
        if validate is not None and value is not None:
            try:
                value = validate(value)
            except BadValue as error:
                raise UserError(f"{item.name}: {error}") from None
        elif value is None and item.default is not None:
            raise UserError(f"{item.name}: expected a value, got None")
        values[item.name] = value
    return dataclasses.replace(config, **values)


def resolve(kind: type, config: Any = None, overrides: dict | None = None) -> Any:
    """kind() or the given config, with the overrides applied and every value checked."""
    if config is None:
        config = kind()
    elif not isinstance(config, kind):
        raise TypeError(f"config must be a {kind.__module__}.{kind.__qualname__}, got {type(config).__name__}")
    names = [item.name for item in dataclasses.fields(kind)]
    unknown = sorted(set(overrides or {}) - set(names))
    if unknown:
        raise UserError(f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                        f"the options are {', '.join(names)}")
    return check(dataclasses.replace(config, **(overrides or {})))


def to_json(config: Any) -> dict:
    """The config as JSON values (paths as text)."""
    return {key: str(value) if isinstance(value, Path) else value for key, value in dataclasses.asdict(config).items()}


def from_json(kind: type, values: dict, source: str) -> Any:
    """The config saved by to_json; `source` names the file in errors."""
    names = {item.name for item in dataclasses.fields(kind)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UserError(f"{source}: options {', '.join(unknown)} are not options of this version of the task")
    try:
        return check(kind(**values))
    except UserError as error:
        raise UserError(f"{source}: {error}") from None


# ----- the command line -----------------------------------------------------------------------
def add_options(parser: argparse.ArgumentParser, kind: type) -> None:
    """One command-line option per field of `kind`; an option not given is absent from the namespace, so
    given_options() tells what the user chose from what is a default."""
    groups: dict[str, Any] = {}
    for item in dataclasses.fields(kind):
        meta = item.metadata
        target = parser
        if meta.get("group"):
            if meta["group"] not in groups:
                groups[meta["group"]] = parser.add_mutually_exclusive_group()
            target = groups[meta["group"]]
        name, described = flag_of(item), meta.get("help", "")
        if isinstance(item.default, bool):
            target.add_argument(name, dest=item.name, action="store_false" if item.default else "store_true",
                                default=argparse.SUPPRESS, help=described)
            continue
        shown = "none" if item.default is None else f"{item.default:g}" if isinstance(item.default, float) else item.default
        validate = meta.get("check")
        target.add_argument(name, dest=item.name, type=validate, default=argparse.SUPPRESS,
                            choices=getattr(validate, "choices", None), metavar=meta.get("metavar"),
                            help=described if item.default is None else f"{described} (default {shown})")


def given_options(args: argparse.Namespace, kind: type) -> dict:
    """The fields of `kind` the user set on the command line."""
    return {item.name: getattr(args, item.name) for item in dataclasses.fields(kind) if hasattr(args, item.name)}
