"""Typed option dataclasses: conversion of command-line strings and TOML values, and refusals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from srbench.errors import UsageError
from srbench.options import NoOptions, describe_options, option, options_to_dict, parse_options

WHERE = "options of method 'toy'"


@dataclass(frozen=True)
class ToyOptions:
    lr: float = option(1e-4, "learning rate")
    steps: int = option(3, "inner steps")
    augment: bool = option(True, "random flips")
    loss: Literal["l1", "l2"] = option("l1", "pixel loss")
    level: Literal[1, 2, 3] = option(1, "pyramid level")
    kernel: tuple[int, int] = option((3, 3), "kernel height and width")
    widths: tuple[int, ...] = option((16, 32), "channels per stage")
    layers: list[str] = option(["conv"], "layer names")
    patience: Optional[int] = option(None, "early-stop patience; none disables")
    name: str = option("toy", "display name")


@dataclass(frozen=True)
class ValidatedOptions:
    weight: float = option(1.0, "must be positive")

    def __post_init__(self) -> None:
        if self.weight <= 0:
            raise ValueError(f"weight {self.weight} must be > 0")


def _parse(**values: object) -> ToyOptions:
    return parse_options(ToyOptions, values, WHERE)


def test_defaults_when_no_values() -> None:
    assert parse_options(ToyOptions, None, WHERE) == ToyOptions()
    assert parse_options(ToyOptions, {}, WHERE).layers == ["conv"]


def test_list_defaults_are_not_shared_between_instances() -> None:
    first, second = ToyOptions(), ToyOptions()
    first.layers.append("relu")
    assert second.layers == ["conv"]


def test_strings_are_converted_to_field_types() -> None:
    opts = _parse(lr="2e-3", steps="1_000", augment="no", loss="l2", level="3", kernel="5,7",
                  widths="(8, 16, 32)", layers="conv, relu", patience="10", name="fancy")
    assert opts == ToyOptions(lr=2e-3, steps=1000, augment=False, loss="l2", level=3, kernel=(5, 7),
                              widths=(8, 16, 32), layers=["conv", "relu"], patience=10, name="fancy")
    assert isinstance(opts.lr, float) and isinstance(opts.steps, int) and isinstance(opts.kernel, tuple)


@pytest.mark.parametrize("text,expected", [("1", True), ("true", True), ("Yes", True), ("on", True),
                                           ("0", False), ("FALSE", False), ("no", False), ("off", False)])
def test_bool_strings(text: str, expected: bool) -> None:
    assert _parse(augment=text).augment is expected


def test_toml_values_are_accepted_as_typed() -> None:
    opts = _parse(lr=1, steps=4.0, augment=False, level=2, kernel=[1, 1], widths=[4], layers=["a"])
    assert opts.lr == 1.0 and isinstance(opts.lr, float)
    assert opts.steps == 4 and isinstance(opts.steps, int)
    assert opts.kernel == (1, 1) and opts.widths == (4,)


@pytest.mark.parametrize("text", ["none", "None", "null", ""])
def test_optional_accepts_none_words(text: str) -> None:
    assert _parse(patience=text).patience is None


def test_unknown_key_lists_accepted_ones() -> None:
    with pytest.raises(UsageError) as info:
        _parse(learning_rate="0.1")
    message = str(info.value)
    assert message.startswith(f"{WHERE}: unknown option 'learning_rate'")
    assert "accepted: augment, kernel, layers, level, loss, lr, name, patience, steps, widths" in message


def test_no_options_accepts_nothing() -> None:
    assert parse_options(NoOptions, {}, WHERE) == NoOptions()
    with pytest.raises(UsageError, match=r"unknown option 'x'; accepted: \(none\)"):
        parse_options(NoOptions, {"x": 1}, WHERE)


@pytest.mark.parametrize("key,value,expected_type", [
    ("lr", "fast", "float"),
    ("lr", True, "float"),
    ("steps", "2.5", "int"),
    ("steps", 2.5, "int"),
    ("steps", True, "int"),
    ("augment", "maybe", "bool"),
    ("augment", 1, "bool"),
    ("loss", "l3", "one of l1|l2"),
    ("level", "4", "one of 1|2|3"),
    ("level", True, "one of 1|2|3"),
    ("kernel", "3", "tuple[int, int]"),
    ("kernel", "3,x", "tuple[int, int]"),
    ("widths", "8,wide", "tuple[int, ...]"),
    ("widths", 8, "tuple[int, ...]"),
    ("layers", ["conv", 3], "list[str]"),
    ("patience", "soon", "int or none"),
    ("name", 5, "str"),
])
def test_wrong_types_are_one_line_errors_naming_key_value_and_type(key: str, value: object,
                                                                   expected_type: str) -> None:
    with pytest.raises(UsageError) as info:
        _parse(**{key: value})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{WHERE}: option {key!r}: invalid value {value!r}")
    assert expected_type in message


def test_post_init_validation_becomes_usage_error() -> None:
    assert parse_options(ValidatedOptions, {"weight": "2"}, WHERE).weight == 2.0
    with pytest.raises(UsageError, match=rf"^{WHERE}: weight -1.0 must be > 0$"):
        parse_options(ValidatedOptions, {"weight": "-1"}, WHERE)


def test_parse_options_refuses_non_dataclass() -> None:
    with pytest.raises(TypeError):
        parse_options(dict, {}, WHERE)


def test_describe_options_reports_name_type_default_and_doc() -> None:
    described = {o.name: o for o in describe_options(ToyOptions)}
    assert list(described) == ["lr", "steps", "augment", "loss", "level", "kernel", "widths", "layers",
                               "patience", "name"]
    assert (described["lr"].type, described["lr"].default, described["lr"].doc) == ("float", 1e-4, "learning rate")
    assert described["loss"].type == "one of l1|l2"
    assert described["widths"].type == "tuple[int, ...]"
    assert described["layers"].default == ["conv"]
    assert described["patience"].type == "int or none"


def test_option_fields_carry_their_doc() -> None:
    @dataclass
    class WithPlainField:
        plain: int = field(default=1)
        documented: int = option(2, "has a doc")

    docs = {o.name: o.doc for o in describe_options(WithPlainField)}
    assert docs == {"plain": "", "documented": "has a doc"}


def test_options_to_dict_is_json_friendly() -> None:
    as_dict = options_to_dict(_parse(kernel="1,2"))
    assert as_dict["kernel"] == [1, 2]
    assert as_dict["widths"] == [16, 32]
    assert as_dict["lr"] == 1e-4
    # Round trip: what results store can be parsed back.
    assert parse_options(ToyOptions, as_dict, WHERE) == _parse(kernel="1,2")
