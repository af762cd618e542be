"""A trial: one method, trained once, under one regime and seed. Its id is a hash of its spec."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


#: Spec fields that say where a trial was scored, not what was trained, or which options sit at their neutral
#: value (those options themselves are dropped from the id's method options): kept out of its id.
_NOT_IN_ID = ("test_datasets", "neutral_options")


def identity_options(spec: dict[str, Any]) -> dict[str, Any]:
    """The method options of a spec (a :meth:`TrialSpec.to_dict`, or a record's ``spec``) that tell trials
    apart: all but those at their neutral value (``neutral_options``)."""
    neutral = set(spec.get("neutral_options") or ())
    return {k: v for k, v in (spec.get("method_options") or {}).items() if k not in neutral}


@dataclass(frozen=True)
class TrialSpec:
    """Everything that determines a trial's outcome (and nothing that does not, like ``--out``).

    :param method_options: the method's fully resolved options (defaults included), so a change
        of default makes a new trial instead of silently reusing an old result.
    :param profile: the resolved profile fields (after ``--set profile.X=...``).
    :param method_version: the method's plugin package version and its ``Method.revision``
        (``"0.1.0/r1"``): a new release or revision makes new trials.
    :param test_datasets: the test sets of the run that trained it, for the record; not in the id: a
        trial is scored on further test sets (or the validation split) from its checkpoint.
    :param paired_degradation: the operator that made the paired images' LR when it is not ``degradation``
        (a domain gap between the paired and the LR-only images); empty = ``degradation``. Left out of
        :meth:`to_dict`, and so of the id, when empty: trials from before it existed keep their ids.
    :param paired_degradation_options: that operator's options that differ from its defaults (``--set
        paired_degradation.X=...``); left out of :meth:`to_dict` when empty, for the same reason.
    :param neutral_options: the names in ``method_options`` set to their declared neutral value (the value that
        trains as before the option existed: :func:`~srbench.options.option`); kept in the record, left out
        of the id, so adding an option to a method keeps its finished trials. Left out of :meth:`to_dict`
        when empty.
    :param component_versions: ``KIND/NAME -> "VERSION/rN"`` of the degradation, the training data and the
        networks and losses the method's options name (:meth:`Runner.component_versions`): a
        changed operator, dataset or network makes new trials too.
    """

    method: str
    method_options: dict[str, Any]
    dataset: str
    test_datasets: tuple[str, ...]
    scale: int
    degradation: str
    degradation_options: dict[str, Any]
    hr_fraction: float
    hr_source: str
    seed: int
    profile: dict[str, Any] = field(default_factory=dict)
    deterministic: bool = True
    amp: bool = False
    method_version: str = ""
    component_versions: dict[str, str] = field(default_factory=dict)
    paired_degradation: str = ""
    paired_degradation_options: dict[str, Any] = field(default_factory=dict)
    neutral_options: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["test_datasets"] = list(self.test_datasets)
        d["neutral_options"] = list(self.neutral_options)
        for optional in ("paired_degradation", "paired_degradation_options", "neutral_options"):
            if not d[optional]:
                del d[optional]
        return d

    @property
    def trial_id(self) -> str:
        """Readable prefix + 10 hex digits of the spec's SHA-256 (stable across runs and machines)."""
        spec = self.to_dict()
        identity = {k: v for k, v in spec.items() if k not in _NOT_IN_ID}
        identity["method_options"] = identity_options(spec)
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:10]
        return f"{self.method}-x{self.scale}-f{self.hr_fraction:g}-s{self.seed}-{digest}"
