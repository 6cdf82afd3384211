"""A schema-only stand-in provider, built with the `tf` package (the Python implementation of Terraform's
plugin protocol): it declares the resource and data source types a configuration uses, with every attribute
of dynamic type (so Terraform hands over each value as the configuration computed it, unconverted) and every
nested block in list mode (so blocks keep the order they were written or generated in), and plans a new
resource as the configuration proposes it, with the computed attributes it does not set unknown, as a real
provider does. It never reaches a cloud: nothing is ever applied.

Terraform starts it as a plugin (see terraform.py); the schema is a JSON file named by IACLINT_ORACLE_SCHEMA:
{"provider": BLOCK, "resources": {TYPE: BLOCK}, "data_sources": {TYPE: BLOCK}} where BLOCK is
{"attributes": {NAME: "optional" | "computed" | "optional_computed"}, "blocks": {NAME: BLOCK}}.
"""

from __future__ import annotations

import json
import os
import sys

import msgpack
from msgpack.ext import ExtType

from tf import iface, runner, schema, types
from tf import provider as tf_provider
from tf.gen import tfplugin_pb2 as pb

UNKNOWN = ExtType(0, b"\x00")  # how cty's msgpack encoding writes an unknown value


class Dynamic(types.TfType):
    """cty's DynamicPseudoType: the attribute takes whatever type the configuration gives it."""

    def encode(self, value):
        return value

    def decode(self, value):
        return value

    def tf_type(self) -> bytes:
        return b'"dynamic"'


class ListBlock(schema.NestedBlock):
    """A nested block in list mode (the `tf` package knows set and single only), or in set mode."""

    def __init__(self, type_name: str, block: schema.Block, mode: str = "LIST"):
        super().__init__(type_name, schema.NestMode.Set, block)
        self.mode = mode

    def to_pb(self) -> pb.Schema.NestedBlock:
        return pb.Schema.NestedBlock(type_name=self.type_name, block=self.block.to_pb(),
                                     nesting=getattr(pb.Schema.NestedBlock.NestingMode, self.mode))


class Typed(Dynamic):
    """A fixed type, written as cty's JSON type ("string", ["list", "string"])."""

    def __init__(self, type_json):
        self.type_json = json.dumps(type_json).encode()

    def tf_type(self) -> bytes:
        return self.type_json


def _attributes(spec: dict) -> list[schema.Attribute]:
    types_ = spec.get("types", {})
    out = []
    for name, kind in sorted(spec.get("attributes", {}).items()):
        kind_of_value = Typed(types_[name]) if name in types_ else Dynamic()
        out.append(schema.Attribute(name, kind_of_value, optional=kind != "computed",
                                    computed=kind in ("computed", "optional_computed")))
    return out


def _block(spec: dict) -> schema.Block:
    return schema.Block(attributes=_attributes(spec), block_types=_blocks(spec))


def _blocks(spec: dict) -> list[schema.NestedBlock]:
    return [ListBlock(name, _block(inner)) for name, inner in sorted(spec.get("blocks", {}).items())]


def _schema(spec: dict) -> schema.Schema:
    return schema.Schema(version=0, attributes=_attributes(spec), block_types=_blocks(spec))


def _kind(name: str, spec: dict, base: type) -> type:
    """A resource or data source class for one type: only its schema matters."""

    def get_name(cls):
        return name

    def get_schema(cls):
        return _schema(spec)

    def nothing(self, *args):
        return None

    return type(name, (base,), {"__init__": lambda self, provider: None, "get_name": classmethod(get_name),
                                "get_schema": classmethod(get_schema), "create": nothing, "read": nothing,
                                "update": nothing, "delete": nothing})


class StandIn(iface.Provider):
    """Its schema is read from a file the harness rewrites before each plan (one process serves them all)."""

    def __init__(self, path: str):
        self.path = path
        self.stamp = None
        self.spec: dict = {}

    def reload(self) -> bool:
        stat = os.stat(self.path)
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp == self.stamp:
            return False
        with open(self.path, encoding="utf-8") as handle:
            self.spec = json.load(handle)
        self.stamp = stamp
        return True

    def get_model_prefix(self) -> str:
        return ""

    def full_name(self) -> str:
        return "iaclint.test/oracle/stand-in"

    def get_provider_schema(self, diags) -> schema.Schema:
        return _schema(self.spec.get("provider", {}))

    def validate_config(self, diags, config) -> None:
        return None

    def configure_provider(self, diags, config) -> None:
        return None

    def get_data_sources(self):
        return [_kind(name, spec, iface.DataSource) for name, spec in sorted(self.spec.get("data_sources", {}).items())]

    def get_resources(self):
        return [_kind(name, spec, iface.Resource) for name, spec in sorted(self.spec.get("resources", {}).items())]


class Servicer(tf_provider.ProviderServicer):
    """Plans and reads by the configuration alone: nothing to validate, nothing to call."""

    def GetProviderSchema(self, request, context):
        if self.app.reload():
            self.__init__(self.app)  # the type maps and schema caches belong to the old schema
        return super().GetProviderSchema(request, context)

    def ValidateResourceConfig(self, request, context):
        return pb.ValidateResourceConfig.Response()

    def ValidateDataResourceConfig(self, request, context):
        return pb.ValidateDataResourceConfig.Response()

    def PlanResourceChange(self, request, context):
        proposed = _read(request.proposed_new_state)
        if isinstance(proposed, dict) and _read(request.prior_state) is None:
            computed = {name for name, kind in self.app.spec.get("resources", {}).get(request.type_name, {})
                        .get("attributes", {}).items() if kind != "optional"}
            for name in computed:
                if proposed.get(name) is None:
                    proposed[name] = UNKNOWN  # known after apply, as a real provider plans what it computes
        return pb.PlanResourceChange.Response(planned_state=pb.DynamicValue(msgpack=msgpack.packb(proposed)))

    def ReadDataSource(self, request, context):
        """The configuration, with a stand-in for what the data source computes: a data source must be wholly
        known once read, and iaclint never claims to know what it computes, so any value does (a list for
        plural names, which configurations index)."""
        state = _read(request.config) or {}
        spec = self.app.spec.get("data_sources", {}).get(request.type_name, {})
        for name, kind in spec.get("attributes", {}).items():
            if kind != "optional" and state.get(name) is None:
                text = f"{request.type_name}.{name}"
                plural = name.endswith(("s", "_ids", "_arns")) and not name.endswith(("_status", "_address"))
                state[name] = _dynamic(["stand-in " + text] if plural else "stand-in " + text)
        return pb.ReadDataSource.Response(state=pb.DynamicValue(msgpack=msgpack.packb(state)))


def _read(value: pb.DynamicValue):
    return msgpack.unpackb(value.msgpack, raw=False) if value.msgpack else None


def _dynamic(value) -> list:
    """A value of a dynamic attribute as cty's msgpack encoding writes one: its type (JSON), then itself."""
    type_json = json.dumps(["tuple", ["string"] * len(value)] if isinstance(value, list) else "string")
    return [type_json.encode(), value]


def serve() -> None:
    """Run as Terraform's plugin (a process per provider instance), or with --dev as one long-running server
    that every terraform run reattaches to (TF_REATTACH_PROVIDERS): a Python provider takes about half a
    second to start, and a plan of many modules with provider blocks of their own starts one per block."""
    provider = StandIn(os.environ["IACLINT_ORACLE_SCHEMA"])
    provider.reload()
    tf_provider.ProviderServicer = Servicer  # run_provider builds its servicer from this name
    runner.run_provider(provider, sys.argv)
