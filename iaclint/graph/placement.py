"""The AWS account and Region a resource lives in, as far as the configuration says.

Cross-Region and cross-account rules compare places: a key must be in its consumer's Region, a
backup copy goes to another account. A place comes from the resource's own `region` argument
(provider v6), else from the root provider configuration it uses (`region`, `allowed_account_ids`,
`assume_role.role_arn`), or from a literal ARN. Where Terraform would only know at apply time (a
provider with no `region`, read from the environment), the place is unknown, with the reason.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from iaclint.eval.values import PartialString, Value, render
from iaclint.model import ValueRecord

if TYPE_CHECKING:
    from iaclint.graph.model import Graph, Resource

_ARN = re.compile(r"^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):(.+)$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class ProviderPlace(ValueRecord):
    """What a root provider configuration pins: its Region and the accounts it may run in."""

    __slots__ = ("region", "region_why", "accounts", "default_tags", "credentials")

    def __init__(self, region: str | None, region_why: str, accounts: frozenset[str] = frozenset(),
                 default_tags: Value | None = None, credentials: str | None = ""):
        self.region = region
        self.region_why = region_why  # where the Region comes from, or why it is unknown
        self.accounts = accounts
        self.default_tags = default_tags  # default_tags { tags = ... }: a map, or unknown
        self.credentials = credentials  # what picks its credentials (profile, keys, role); None when not known


class Place(ValueRecord):
    """A Region (or account) and where it comes from; value None means unknown, and why says why."""

    __slots__ = ("value", "why", "provider")

    def __init__(self, value: str | None, why: str, provider: str = ""):
        self.value = value
        self.why = why
        self.provider = provider  # the provider configuration it was read from ("" when read from an ARN or argument)


def parse_arn(text: str) -> dict[str, str] | None:
    match = _ARN.match(text)
    if match is None:
        return None
    return {"partition": match.group(1), "service": match.group(2), "region": match.group(3),
            "account": match.group(4), "resource": match.group(5)}


CREDENTIAL_ARGUMENTS = ("profile", "access_key", "shared_credentials_files", "shared_config_files", "role_arn",
                        "web_identity_role_arn", "token")
# the provider arguments read as plain values (blocks such as assume_role are read by the builders)
PROVIDER_ARGUMENTS = ("region", "allowed_account_ids", "profile", "access_key", "shared_credentials_files",
                      "shared_config_files", "token")


def provider_place(values: dict[str, Value | None], name: str) -> ProviderPlace:
    """The place of one provider configuration from its evaluated `region`, `allowed_account_ids`, role ARN."""
    region_value = values.get("region")
    if region_value is None or region_value.is_null:
        region, why = None, (f'provider "{name}" sets no region: it comes from AWS_REGION or the profile at apply '
                             "time")
    elif region_value.known and isinstance(region_value.raw, str):
        region, why = region_value.raw, f'provider "{name}" region = {render(region_value)}'
    else:
        region, why = None, f'the region of provider "{name}" is unknown ({region_value.unknown or "not a string"})'
    accounts: set[str] = set()
    allowed = values.get("allowed_account_ids")
    if allowed is not None and allowed.known and isinstance(allowed.raw, list):
        accounts |= {v.raw for v in allowed.raw if v.known and isinstance(v.raw, str)}
    role = values.get("role_arn")
    if role is not None and role.known and isinstance(role.raw, str):
        arn = parse_arn(role.raw)
        if arn and arn["account"]:
            accounts.add(arn["account"])
    credentials: str | None = ""
    for argument in CREDENTIAL_ARGUMENTS:
        value = values.get(argument)
        if value is None or value.is_null:
            continue
        if not value.wholly_known():
            credentials = None
            break
        credentials += f"{argument}={value.to_python()!r};"
    return ProviderPlace(region, why, frozenset(accounts), values.get("default_tags"), credentials)


def same_account(a: "Resource", b: "Resource", graph: "Graph") -> tuple[bool | None, str]:
    """Are two resources in the same account? By pinned accounts, else by identical credentials."""
    mine, theirs = account_of(a, graph), account_of(b, graph)
    if mine.value is not None and theirs.value is not None:
        return mine.value == theirs.value, f"{mine.value} and {theirs.value}"
    first, second = graph.places.get(a.provider_ref()), graph.places.get(b.provider_ref())
    credentials = [p.credentials if p is not None else "" for p in (first, second)]
    if None not in credentials and credentials[0] == credentials[1] and not (mine.value or theirs.value):
        return True, (f'providers "{a.provider_ref()}" and "{b.provider_ref()}" take the same credentials (no '
                      "profile, keys or role tells them apart), so they act in the same account")
    return None, (mine.why if mine.value is None else theirs.why)


def default_tags(resource: "Resource", graph: "Graph") -> Value | None:
    """The provider's default_tags map a resource inherits (None when its provider sets none)."""
    _, place = _provider(resource, graph)
    return place.default_tags if place is not None else None


def _provider(resource: "Resource", graph: "Graph") -> tuple[str, ProviderPlace | None]:
    ref = resource.provider_ref()
    return ref, graph.places.get(ref)


def region_of(resource: "Resource", graph: "Graph") -> Place:
    """The Region a resource is created in: its own `region` argument, else its provider's."""
    view = resource.attr("region") if resource.type.startswith("aws_") else None
    if view is not None and view.is_set:
        if view.value.known and isinstance(view.value.raw, str):
            return Place(view.value.raw, f"{resource.address} region = {render(view.value)}")
        return Place(None, f"the region argument of {resource.address} is unknown ({view.value.unknown})")
    ref, place = _provider(resource, graph)
    if ref.startswith("?"):
        return Place(None, f"{resource.address} uses provider {ref[1:]}, which its caller does not pass", ref)
    if place is None:
        return Place(None, f'provider "{ref}" is not configured in the root module: its Region comes from the '
                           "environment at apply time", ref)
    return Place(place.region, place.region_why, ref)


def account_of(resource: "Resource", graph: "Graph") -> Place:
    """The account a resource is created in, when its provider pins exactly one (allowed_account_ids, role)."""
    ref, place = _provider(resource, graph)
    if place is not None and len(place.accounts) == 1:
        return Place(next(iter(place.accounts)), f'provider "{ref}" is pinned to it', ref)
    if place is not None and len(place.accounts) > 1:
        return Place(None, f'provider "{ref}" allows several accounts ({", ".join(sorted(place.accounts))})', ref)
    return Place(None, f'provider "{ref}" pins no account (allowed_account_ids or assume_role.role_arn would)', ref)


def arn_region(value: Value) -> Place | None:
    """The Region written in a (possibly partly unknown) ARN, or None when the value is not an ARN."""
    if value.known and isinstance(value.raw, str):
        arn = parse_arn(value.raw)
        if arn is None:
            return None
        return Place(arn["region"] or None, f"the ARN {render(value)} names Region {arn['region']}")
    if isinstance(value.raw, PartialString):
        parts = value.raw.parts
        text = "".join(p if p is not None else "\0" for p in parts)
        if not text.startswith("arn:"):
            return None
        fields = text.split(":")
        if len(fields) < 5:
            return None
        region = fields[3]
        if "\0" in region:
            return Place(None, "the Region part of the key ARN is not known")
        return Place(region or None, f"the ARN {render(value)} names Region {region}")
    return None


def same_provider(a: "Resource", b: "Resource") -> bool:
    """Both use the same provider configuration and neither overrides the Region itself."""
    for resource in (a, b):
        view = resource.attr("region")
        if view.is_set:
            return False
    return a.provider_ref() == b.provider_ref() and not a.provider_ref().startswith("?")


def looks_like_region(text: Any) -> bool:
    return isinstance(text, str) and bool(_REGION.match(text))
