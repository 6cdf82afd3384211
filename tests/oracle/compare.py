"""Compare the values iaclint evaluates with the values terraform planned.

The rule: where Terraform gives a value, iaclint gives the same value or says unknown, never a different
one; and where Terraform says a value is known only after apply, iaclint does not claim to know it. The
instances of every resource block (count, for_each, modules' count and for_each) are compared the same way:
iaclint either says it does not know them or names exactly the ones Terraform plans.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal

from iaclint.eval.values import ObjectRef, PartialString, SetList, Value
from iaclint.graph.hcl import WILDCARD
from iaclint.graph.model import Graph

_KEY = re.compile(r'\[(?:\d+|"(?:[^"\\]|\\.)*")\]$')


@dataclass
class Tally:
    """What one comparison saw: pairs are (configuration, attribute) with a value from Terraform."""

    pairs: int = 0  # attributes (nested block attributes included) terraform gave a value for
    known: int = 0  # ... of which iaclint gave a value (the same one, or it is a disagreement)
    unknown: int = 0  # ... of which iaclint said unknown
    after_apply: int = 0  # attributes terraform itself knows only after apply
    instances: int = 0  # resource blocks whose instances were compared
    disagreements: list[str] = field(default_factory=list)
    unknown_reasons: dict = field(default_factory=dict)  # reason -> count, to see what iaclint gives up on

    def add(self, other: "Tally") -> None:
        self.pairs += other.pairs
        self.known += other.known
        self.unknown += other.unknown
        self.after_apply += other.after_apply
        self.instances += other.instances
        self.disagreements += other.disagreements
        for reason, n in other.unknown_reasons.items():
            self.unknown_reasons[reason] = self.unknown_reasons.get(reason, 0) + n


def planned_resources(plan: dict) -> dict[str, dict]:
    """Managed resource instances by address: their planned values and which parts are unknown."""
    out = {}
    for change in plan.get("resource_changes", []):
        if change.get("mode") != "managed" or "create" not in change["change"]["actions"]:
            continue
        out[change["address"]] = change["change"]
    return out


def load_plan(text: str) -> dict:
    """Numbers as Terraform wrote them (Decimal): its numbers have far more precision than a float."""
    return json.loads(text, parse_float=Decimal)


def _base(address: str) -> str:
    return _KEY.sub("", address)


def compare_graph(graph: Graph, plan: dict, label: str, spec: dict, only=None) -> Tally:
    """Every managed resource of the graph against the plan. ``only``: a predicate on addresses, to leave
    out what terraform could not plan."""
    tally = Tally()
    planned = planned_resources(plan)
    ours = [r for r in graph.resources if r.mode == "managed" and (only is None or only(r.address))]
    wildcards = [r.address for r in ours if "[*]" in r.address]
    by_base: dict[str, set[str]] = {}
    for r in ours:
        if "[*]" not in r.address:
            by_base.setdefault(_base(r.address), set()).add(r.address)
    theirs_by_base: dict[str, set[str]] = {}
    for address in planned:
        if only is None or only(address):
            theirs_by_base.setdefault(_base(address), set()).add(address)
    for base in sorted(set(by_base) | set(theirs_by_base)):
        mine, theirs = by_base.get(base, set()), theirs_by_base.get(base, set())
        if mine == theirs:
            tally.instances += 1
            continue
        covered = {a for a in theirs - mine if any(_covers(w, a) for w in wildcards)}
        if mine - theirs or (theirs - mine - covered):
            tally.disagreements.append(f"{label}: instances of {base}: iaclint {sorted(mine)}, "
                                       f"terraform {sorted(theirs)}")
    for resource in ours:
        change = planned.get(resource.address)
        if change is None:
            continue
        types = spec.get("resources", {}).get(resource.type, {})
        where = f"{label}: {resource.address}"
        _compare_body(tally, where, resource, getattr(resource, "block", None), change.get("after") or {},
                      change.get("after_unknown") or {}, types)
    return tally


def _covers(wildcard: str, address: str) -> bool:
    pattern = re.escape(wildcard).replace(re.escape("[*]"), r'\[(?:\d+|"(?:[^"\\]|\\.)*")\]')
    return re.fullmatch(pattern + r'(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?', address) is not None or \
        re.match(pattern + r"\.", address) is not None


def _compare_body(tally: Tally, where: str, view, block, after: dict, unknown: dict, spec: dict) -> None:
    names = [a.name for a in block.body.attributes] if block is not None else view.attribute_names()
    for name in names:
        if name in ("count", "for_each", "depends_on", "provider"):
            continue
        if name not in spec.get("attributes", {}):
            continue
        value = view.attr(name).value
        if value is None:
            continue
        _compare_pair(tally, f"{where}.{name}", value, after.get(name), unknown.get(name, False))
    for name in spec.get("blocks", {}):
        views, why = view.nested(name)
        if why:
            continue
        got = after.get(name) or []
        masks = unknown.get(name) if isinstance(unknown.get(name), list) else []
        if unknown.get(name) is True:
            tally.disagreements.append(f"{where}.{name}: iaclint knows {len(views)} blocks, terraform does not")
            continue
        if len(views) != len(got):
            tally.disagreements.append(f"{where}.{name}: iaclint has {len(views)} blocks, terraform {len(got)}")
            continue
        for i, (inner, data) in enumerate(zip(views, got)):
            mask = masks[i] if i < len(masks) and isinstance(masks[i], dict) else {}
            _compare_body(tally, f"{where}.{name}[{i}]", inner, getattr(inner, "block", None), data or {}, mask,
                          spec["blocks"][name])


def _compare_pair(tally: Tally, where: str, value: Value, planned, unknown) -> None:
    if unknown is True:
        tally.after_apply += 1
        if value.wholly_known() and not isinstance(value.raw, ObjectRef):
            tally.disagreements.append(f"{where}: iaclint says {_show(value)}, terraform knows it only after apply")
        return
    tally.pairs += 1
    if not value.known or isinstance(value.raw, (ObjectRef, PartialString)):
        tally.unknown += 1
        reason = (value.unknown or "a resource as a value").split(":")[0][:80]
        tally.unknown_reasons[reason] = tally.unknown_reasons.get(reason, 0) + 1
        return
    tally.known += 1
    problem = _difference(value, planned, unknown)
    if problem:
        tally.disagreements.append(f"{where}: {problem}")


def _difference(value: Value, planned, unknown) -> str:
    """Why iaclint's value is not terraform's, or "" when it is the same (or unknown where it differs)."""
    if unknown is True:
        return "" if not value.wholly_known() else f"iaclint says {_show(value)}, terraform knows it only after apply"
    if not value.known or isinstance(value.raw, (ObjectRef, PartialString)):
        return ""
    raw = value.raw
    if raw is None or planned is None:
        return "" if raw is None and planned is None else f"iaclint says {_show(value)}, terraform {_json(planned)}"
    if isinstance(raw, bool) or isinstance(planned, bool):
        return "" if type(raw) is type(planned) and raw == planned else \
            f"iaclint says {_show(value)}, terraform {_json(planned)}"
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if isinstance(planned, (int, Decimal)) and _same_number(raw, planned):
            return ""
        return f"iaclint says {_show(value)}, terraform {_json(planned)}"
    if isinstance(raw, str):
        return "" if isinstance(planned, str) and str(raw) == planned else \
            f"iaclint says {_show(value)}, terraform {_json(planned)}"
    if isinstance(raw, list):
        if not isinstance(planned, list) or len(planned) != len(raw):
            return f"iaclint says {_show(value)}, terraform {_json(planned)}"
        masks = unknown if isinstance(unknown, list) else [False] * len(raw)
        if isinstance(raw, SetList):
            if not value.wholly_known():
                return ""  # unknown elements may turn out equal to others, and the order is terraform's own
            mine = sorted(_canonical(v.to_python()) for v in raw)
            theirs = sorted(_canonical(p) for p in planned)
            return "" if mine == theirs else f"iaclint says set {_show(value)}, terraform {_json(planned)}"
        for i, (item, p) in enumerate(zip(raw, planned)):
            problem = _difference(item, p, masks[i] if i < len(masks) else False)
            if problem:
                return f"[{i}]: {problem}"
        return ""
    if isinstance(raw, dict):
        if not isinstance(planned, dict) or set(raw) != set(planned):
            return f"iaclint says {_show(value)}, terraform {_json(planned)}"
        masks = unknown if isinstance(unknown, dict) else {}
        for key in sorted(raw):
            problem = _difference(raw[key], planned[key], masks.get(key, False))
            if problem:
                return f"[{key!r}]: {problem}"
        return ""
    return ""  # anything else is not a value iaclint claims to know


def _same_number(mine: int | float, planned: int | Decimal) -> bool:
    if isinstance(mine, int) and (isinstance(planned, int) or planned == planned.to_integral_value()):
        return mine == int(planned)
    return float(mine) == float(planned)  # to the precision iaclint computes in; strings show the rest


def _canonical(data) -> str:
    return json.dumps(_plain(data), sort_keys=True)


def _plain(data):
    """Terraform's numbers as iaclint's (an integer, else the nearest float), inside any structure."""
    if isinstance(data, Decimal):
        return int(data) if data == data.to_integral_value() else float(data)
    if isinstance(data, float) and data.is_integer():
        return int(data)
    if isinstance(data, list):
        return [_plain(d) for d in data]
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    return data


def _show(value: Value) -> str:
    return _json(value.to_python())[:300]


def _json(data) -> str:
    return json.dumps(data, default=str)[:300]
