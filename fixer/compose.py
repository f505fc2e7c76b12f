"""Helpers shared by the compose codemods."""
from __future__ import annotations

from yaml.nodes import MappingNode

from .yamldoc import YamlFile, get


def services(doc: YamlFile):
    """(name, key node, service mapping or None) for each service of a compose file."""
    if not doc.docs:
        return
    root = doc.docs[0]
    svcs = get(root, "services")
    if not isinstance(svcs, MappingNode):
        return
    for k, v in svcs.value:
        name = getattr(k, "value", None)
        if not isinstance(name, str):
            continue
        yield name, k, (v if isinstance(v, MappingNode) else None)
