"""checkov's accepted findings (infra/checkov.yaml), written into the templates as the
resource-scoped skips checkov reads: `Metadata: checkov: skip: [{id, comment}]`.

Each entry of the file names a check, the resource type it inspects, the construct paths
(below the stack) of the resources where its finding is accepted and why; optionally a
property that makes the resource pass (`unless`: the skip is left out where it is set; a
dotted path reaches into a property, e.g. DistributionConfig.WebACLId).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aws_cdk import CfnResource, Stack

SKIPS_FILE = Path(__file__).with_name("checkov.yaml")
METADATA_KEY = "checkov"


@dataclass(frozen=True)
class Skip:
    id: str
    type: str
    constructs: tuple[str, ...]
    reason: str
    unless: str | None = None

    def applies_to(self, resource: CfnResource) -> bool:
        if resource.cfn_resource_type != self.type:
            return False
        if not any(fnmatch.fnmatchcase(construct_path(resource), pattern) for pattern in self.constructs):
            return False
        return self.unless is None or _property(resource, self.unless) is None


def construct_path(resource: CfnResource) -> str:
    """The resource's construct path below its stack, e.g. "Functions/Message/Resource"."""
    return resource.node.path.removeprefix(Stack.of(resource).node.path + "/")


def _property(resource: CfnResource, name: str) -> Any:
    """A CloudFormation property of an L1 resource, by its CloudFormation name, or a path
    into one ("DistributionConfig.WebACLId"; None when unset anywhere along it)."""
    first, *path = name.split(".")
    attribute = _snake_case(first)
    if not hasattr(type(resource), attribute):  # without reading it: a struct may not convert
        raise ValueError(f"{resource.cfn_resource_type} has no property {name}")
    if not path:
        return getattr(resource, attribute)
    # A nested struct, resolved (its L1 form has camelCase keys: webAclId for WebACLId).
    value = Stack.of(resource).resolve(resource._cfn_properties.get(_camel_case(first)))
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(_camel_case(part))
    return value


def _snake_case(name: str) -> str:
    """The jsii attribute of a CloudFormation name: WebACLId → web_acl_id, KmsKeyId → kms_key_id."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _camel_case(name: str) -> str:
    first, *others = _snake_case(name).split("_")
    return first + "".join(word.capitalize() for word in others)


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    document = yaml.safe_load(path.read_text())
    return [
        Skip(
            id=entry["id"],
            type=entry["type"],
            constructs=tuple(entry["constructs"]),
            reason=" ".join(entry["reason"].split()),
            unless=entry.get("unless"),
        )
        for entry in document["skips"]
    ]


def skip_accepted_findings(stack: Stack, skips: list[Skip] | None = None) -> None:
    """Add to each resource of `stack` the skips that apply to it."""
    skips = load_skips() if skips is None else skips
    for construct in stack.node.find_all():
        if not CfnResource.is_cfn_resource(construct):
            continue
        assert isinstance(construct, CfnResource)
        entries = [{"id": skip.id, "comment": skip.reason} for skip in skips if skip.applies_to(construct)]
        if entries:
            construct.add_metadata(METADATA_KEY, {"skip": entries})
