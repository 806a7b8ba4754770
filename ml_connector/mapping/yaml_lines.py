"""Find the line of a key path in a YAML file, so a config error can point at it."""

from __future__ import annotations

import yaml


def line_of(root: yaml.Node | None, path: tuple) -> int | None:
    """The 1-based line of the deepest node along `path` that exists in the composed YAML tree.

    A missing key points at its parent mapping; an unknown key points at the key itself.
    """
    if root is None:
        return None
    node: yaml.Node = root
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((key, value) for key, value in node.value if str(key.value) == str(part)), None)
            if pair is None:
                return line
            line = pair[0].start_mark.line + 1
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
