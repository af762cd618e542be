"""Typed option dataclasses: parsing from TOML / ``--set`` strings, rejecting unknown keys.

Every configurable component declares its options as a dataclass whose fields carry a one-line
doc (``option(default, "doc")``). :func:`parse_options` builds an instance from a mapping of
raw values (strings from the command line or typed values from TOML), converting each value to
the field's type and refusing names the dataclass does not declare.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal, Mapping, get_args, get_origin, get_type_hints

from .errors import UsageError


#: ``option(neutral=...)`` not given: the option is always part of a trial's id.
_NO_NEUTRAL: Any = object()


def option(default: Any, doc: str, *, affects_results: bool = True, neutral: Any = _NO_NEUTRAL,
           **kwargs: Any) -> Any:
    """A dataclass field with a default and a one-line doc shown by ``srbench list --options``.

    :param affects_results: ``False`` for an option that changes only where or how fast something
        runs, or where a file is read from (``device``, ``batch_size``, a weights path): it is
        left out of what a score is recorded with (:func:`result_options`), so changing it does
        not re-score stored results.
    :param neutral: for an option added to a method that already has finished trials: the value at which
        the method trains exactly as it did before the option existed. At that value the option is left
        out of the trial id (:func:`neutral_option_names`), so adding it keeps every existing trial
        reusable; at any other value, the default included if it later changes, it is in the id.
    """
    metadata = {"doc": doc, "affects_results": affects_results}
    if neutral is not _NO_NEUTRAL:
        metadata["neutral"] = neutral
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata, **kwargs)
    return field(default=default, metadata=metadata, **kwargs)


@dataclass(frozen=True)
class NoOptions:
    """Components without options use this empty dataclass."""


@dataclass(frozen=True)
class OptionInfo:
    name: str
    type: str
    default: Any
    doc: str


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + "|".join(str(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin in (tuple, list):
        names = [_type_name(a) for a in get_args(tp) if a is not Ellipsis]
        if Ellipsis in get_args(tp):  # tuple[int, ...]: any length, unlike tuple[int]
            names.append("...")
        return f"{origin.__name__}[{', '.join(names)}]"
    if tp is type(None):
        return "none"
    return getattr(tp, "__name__", str(tp))


def describe_options(cls: type) -> list[OptionInfo]:
    """Name, type, default and doc of every option of an option dataclass."""
    hints = get_type_hints(cls)
    out = []
    for f in fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        out.append(OptionInfo(f.name, _type_name(hints[f.name]), default, f.metadata.get("doc", "")))
    return out


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def convert_value(value: Any, tp: Any, where: str) -> Any:
    """Convert ``value`` (a string from the CLI or a TOML value) to type ``tp``.

    :raises UsageError: naming ``where``, the value and the accepted type.
    """
    origin = get_origin(tp)
    bad = UsageError(f"{where}: invalid value {value!r}; expected {_type_name(tp)}")
    if tp is Any:
        return value
    if origin is Literal:
        for choice in get_args(tp):
            # True == 1 in Python: a bool must not select an int choice (or the reverse).
            same_kind = isinstance(value, bool) == isinstance(choice, bool)
            if (same_kind and value == choice) or (isinstance(value, str) and str(choice) == value):
                return choice
        raise bad
    if origin in (typing.Union, types.UnionType):
        args = list(get_args(tp))
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() in ("none", "null", ""))):
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return convert_value(value, a, where)
            except UsageError:
                continue
        raise bad
    if origin in (tuple, list):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        items: Any = value
        if isinstance(value, str):
            items = [v.strip() for v in value.strip("()[] ").split(",") if v.strip()]
        if not isinstance(items, (list, tuple)):
            raise bad
        if origin is tuple and Ellipsis not in get_args(tp) and len(items) != len(args):
            raise UsageError(f"{where}: invalid value {value!r}; expected {len(args)} comma-separated values ({_type_name(tp)})")
        try:
            conv = [convert_value(v, args[min(i, len(args) - 1)] if args else Any, where)
                    for i, v in enumerate(items)]
        except UsageError:
            raise bad from None  # name the whole value and the container type, not one item
        return origin(conv)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise bad
    if tp is int:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                raise bad from None
        raise bad
    if tp is float:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise bad from None
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    return value


def parse_options(cls: type, values: Mapping[str, Any] | None, where: str) -> Any:
    """Instantiate option dataclass ``cls`` from raw ``values``.

    :param where: prefix for error messages, e.g. ``"options of method 'srgan'"``.
    :raises UsageError: for an unknown name (listing the accepted ones) or a badly typed value.
    """
    if not is_dataclass(cls):
        raise TypeError(f"{cls!r} is not an option dataclass")
    values = dict(values or {})
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(values) - known)
    if unknown:
        accepted = ", ".join(sorted(known)) or "(none)"
        raise UsageError(f"{where}: unknown option {unknown[0]!r}; accepted: {accepted}")
    kwargs = {k: convert_value(v, hints[k], f"{where}: option {k!r}") for k, v in values.items()}
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:  # __post_init__ validation
        raise UsageError(f"{where}: {exc}") from None


def options_to_dict(opts: Any, *, results_only: bool = False) -> dict[str, Any]:
    """JSON-friendly dict of an option dataclass (tuples become lists).

    :param results_only: keep only the options declared with ``affects_results=True`` (the default).
    """
    out = {}
    for f in fields(opts):
        if results_only and not f.metadata.get("affects_results", True):
            continue
        v = getattr(opts, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def neutral_option_names(opts: Any) -> tuple[str, ...]:
    """The options of ``opts`` set to their declared ``neutral`` value (see :func:`option`), in field order."""
    return tuple(name for name, value in neutral_values(type(opts)).items() if getattr(opts, name) == value)


def neutral_values(options_cls: type) -> dict[str, Any]:
    """``name -> neutral value`` of the fields of ``options_cls`` that declare one (see :func:`option`).

    A record written before such an option existed lacks it; rebuilding that trial fills it with this value,
    not with the option's default of the day, which may have changed since."""
    return {f.name: f.metadata["neutral"] for f in fields(options_cls) if "neutral" in f.metadata}
