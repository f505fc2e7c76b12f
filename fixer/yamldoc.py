"""YAML files: locate with libyaml's composer (character offsets), edit by splice.

Nodes come from PyYAML's C composer: every node has start/end marks whose
`index` is a character offset into the text we parsed, so an edit is a splice
of the original text and everything outside it is kept byte for byte.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Iterator

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .text import Edit, TextFile

try:
    _Base = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Base = yaml.SafeLoader

_plain_tags: dict[str, str] = {}    # plain scalar -> its resolved tag (the safe resolver's)


class _Loader(_Base):
    """The safe loader with its tag resolution remembered: the resolver is Python code
    run for every scalar, and infrastructure files repeat their scalars a lot."""

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode:
            if not implicit[0]:
                return self.DEFAULT_SCALAR_TAG
            tag = _plain_tags.get(value)
            if tag is None:
                tag = _Base.resolve(self, kind, value, implicit)
                if len(_plain_tags) < 100_000:
                    _plain_tags[value] = tag
            return tag
        return _Base.resolve(self, kind, value, implicit)


class ParseError(Exception):
    """A file could not be parsed; str() is a one-line reason."""


def compose_all(text: str, path: str = "") -> list[Node]:
    """Composed documents of `text`. Parses are shared (a codemod, the validation of
    its output, the next codemod): nodes are never changed after composing."""
    return list(_compose_cached(text))


@lru_cache(maxsize=256)
def _compose_cached(text: str) -> tuple[Node, ...]:
    try:
        docs = tuple(d for d in yaml.compose_all(text, Loader=_Loader) if d is not None)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ParseError(f"invalid YAML{where}: {problem}") from None
    if "<<" in text:
        _refuse_duplicate_merge_keys(docs)
    if "*" in text and "&" in text:
        for d in docs:
            _refuse_alias_bombs(d)
    if len(text) > 2 * NODE_LIMIT:      # a node takes two characters at least
        _refuse_huge(docs)
    return docs


ALIAS_LIMIT = 10_000   # nodes that aliases may add to a document, beyond its own
NODE_LIMIT = 100_000   # nodes of one file (a 2 MiB manifest of real resources has about 50,000)


def _refuse_huge(docs) -> None:
    """Every codemod and each validation walks the file again: past NODE_LIMIT nodes
    that takes minutes, so such a file is left alone."""
    count = 0
    for d in docs:
        for _ in walk(d):
            count += 1
        if count > NODE_LIMIT:
            raise ParseError(f"more than {NODE_LIMIT:,} YAML nodes (left alone)")


def _children(n: Node) -> list[Node]:
    if isinstance(n, MappingNode):
        return [x for pair in n.value for x in pair]
    if isinstance(n, SequenceNode):
        return n.value
    return []


def _refuse_alias_bombs(doc: Node) -> None:
    """Refuse a document whose aliases expand it by more than ALIAS_LIMIT nodes (a
    "billion laughs" file), or that contains itself: anything that builds or validates
    its data would run for hours. Sizes are counted once per node, without expanding."""
    size: dict[int, int] = {}
    open_: set[int] = set()          # the nodes being counted: the current path
    stack: list[tuple[Node, bool]] = [(doc, False)]
    while stack:
        n, finished = stack.pop()
        nid = id(n)
        if finished:
            open_.discard(nid)
            size[nid] = 1 + sum(size[id(c)] for c in _children(n))
            continue
        if nid in size:
            continue
        if nid in open_:
            raise ParseError(f"invalid YAML (line {n.start_mark.line + 1}): an alias contains itself")
        open_.add(nid)
        stack.append((n, True))
        stack.extend((c, False) for c in _children(n) if id(c) not in size)
    if size[id(doc)] - len(size) > ALIAS_LIMIT:
        raise ParseError(f"alias expansion exceeds {ALIAS_LIMIT:,} nodes")


def _refuse_duplicate_merge_keys(docs) -> None:
    """Two `<<` keys in one mapping are a duplicate key (an error in YAML 1.2) and PyYAML
    releases disagree on which one wins: such a file is invalid, whatever is installed."""
    for d in docs:
        for n in walk(d):
            if isinstance(n, MappingNode):
                merges = [k for k, _ in n.value if k.tag == _MERGE]
                if len(merges) > 1:
                    raise ParseError(f"invalid YAML (line {merges[1].start_mark.line + 1}): "
                                     "duplicate '<<' merge key in one mapping")


class YamlFile(TextFile):
    kind = "yaml"

    def __init__(self, path: str, text: str, bom: bool = False):
        super().__init__(path, text, bom)
        self._docs: list[Node] | ParseError | None = None
        self._indent: int | None = None          # the file's style, found once (whole-file walks)
        self._seq: int | None | bool = False

    @property
    def source(self) -> str:
        """The text handed to the YAML parser (Helm templates mask theirs)."""
        return self.text

    @property
    def docs(self) -> list[Node]:
        if self._docs is None:
            try:
                self._docs = compose_all(self.source, self.path)
            except ParseError as exc:
                self._docs = exc
        if isinstance(self._docs, ParseError):
            raise self._docs
        return self._docs

    # -- reading -----------------------------------------------------------
    def span(self, node: Node) -> str:
        return self.text[node.start_mark.index:node.end_mark.index]

    def indent_step(self) -> int:
        """Indentation unit the file uses for nested block mappings (default 2)."""
        if self._indent is None:
            self._indent = self._find_indent_step()
        return self._indent

    def _find_indent_step(self) -> int:
        for doc in self.docs:
            for parent, child in _nested_block_mappings(doc):
                step = child.start_mark.column - parent.start_mark.column
                if step > 0:
                    return step
        return 2

    def seq_offset(self) -> int | None:
        """Column of `- ` relative to its key for block sequences in mappings."""
        if self._seq is False:
            self._seq = self._find_seq_offset()
        return self._seq

    def _find_seq_offset(self) -> int | None:
        for doc in self.docs:
            for node in walk(doc):
                if isinstance(node, MappingNode) and not node.flow_style:
                    for k, v in node.value:
                        if isinstance(v, SequenceNode) and not v.flow_style and v.value:
                            return v.start_mark.column - k.start_mark.column
        return None

    # -- editing -----------------------------------------------------------
    def content_end(self, node: Node) -> int:
        """Offset just after the last character of a node's content."""
        if isinstance(node, MappingNode) and not node.flow_style and node.value:
            return self.content_end(node.value[-1][1])
        if isinstance(node, SequenceNode) and not node.flow_style and node.value:
            return self.content_end(node.value[-1])
        end = node.end_mark.index
        # block scalars end after trailing line breaks: step back over them
        while end > node.start_mark.index and self.source[end - 1] in "\r\n":
            end -= 1
        return end

    def last_line(self, node: Node) -> int:
        return self.line_of(max(self.content_end(node) - 1, node.start_mark.index))

    def key_column(self, mapping: MappingNode) -> int:
        return mapping.value[0][0].start_mark.column if mapping.value else mapping.start_mark.column

    def add_entry(self, mapping: MappingNode, key: str, value: Any, comment: str = "") -> Edit:
        """Add `key: value` as the last entry of a mapping (block or flow)."""
        if mapping.flow_style or not mapping.value:
            return self._add_flow_entry(mapping, key, value)
        col = self.key_column(mapping)
        lines = render_entry(key, value, col, self.indent_step(), self._seq_off())
        if comment:
            lines[0] += "  # " + comment
        return self.insert_lines_after(self.last_line(mapping), lines)

    def add_entry_after(self, mapping: MappingNode, after_key: str, key: str, value: Any) -> Edit:
        """Add `key: value` right after entry `after_key` of a block mapping."""
        for k, v in mapping.value:
            if k.value == after_key:
                col = self.key_column(mapping)
                lines = render_entry(key, value, col, self.indent_step(), self._seq_off())
                return self.insert_lines_after(self.last_line(v), lines)
        return self.add_entry(mapping, key, value)

    def _add_flow_entry(self, mapping: MappingNode, key: str, value: Any) -> Edit:
        close = mapping.end_mark.index - 1
        if self.source[close] != "}":
            raise ParseError(f"cannot add '{key}' to this mapping")
        piece = f"{render_scalar(key)}: {render_flow(value)}"
        inner = self.source[mapping.start_mark.index + 1:close]
        if inner.strip():
            stripped = inner.rstrip()
            at = mapping.start_mark.index + 1 + len(stripped)
            sep = " " if stripped.endswith(",") else ", "
            return self.insert(at, sep + piece)
        return self.replace(mapping.start_mark.index, mapping.end_mark.index, "{" + piece + "}")

    def append_item(self, seq: SequenceNode, value: Any) -> Edit:
        """Append an item to a sequence (block or flow)."""
        if seq.flow_style or not seq.value:
            close = seq.end_mark.index - 1
            if self.source[close] != "]":
                raise ParseError("cannot append to this sequence")
            inner = self.source[seq.start_mark.index + 1:close]
            if inner.strip():
                stripped = inner.rstrip()
                at = seq.start_mark.index + 1 + len(stripped)
                sep = " " if stripped.endswith(",") else ", "
                return self.insert(at, sep + render_flow(value))
            return self.replace(seq.start_mark.index, seq.end_mark.index, "[" + render_flow(value) + "]")
        first = seq.value[0]
        dash_col = self._dash_column(seq)
        item_lines = render_value_lines(value, dash_col + 2, self.indent_step(), self._seq_off())
        if isinstance(value, (dict, list)):
            lines = [" " * dash_col + "- " + item_lines[0].lstrip(" ")] + item_lines[1:]
        else:
            lines = [" " * dash_col + "- " + render_scalar(value)]
        del first
        return self.insert_lines_after(self.last_line(seq), lines)

    def _dash_column(self, seq: SequenceNode) -> int:
        line = self.line_text(self.line_of(seq.value[0].start_mark.index))
        idx = seq.value[0].start_mark.column
        dash = line.rfind("-", 0, idx)
        return dash if dash >= 0 else seq.start_mark.column

    def _seq_off(self) -> int:
        off = self.seq_offset()
        return self.indent_step() if off is None else off

    def set_value(self, mapping: MappingNode, key: str, value: Any, node: Node | None) -> Edit:
        """`key: value` in a mapping: replace `node` (the key's current value) or add it."""
        if node is not None:
            return self.replace_node(node, render_scalar(value))
        return self.add_entry(mapping, key, value)

    def replace_node(self, node: Node, text: str) -> Edit:
        return self.replace(node.start_mark.index, self.content_end(node), text)

    def remove_entry(self, mapping: MappingNode, key: str) -> Edit | None:
        """Remove the whole lines of a block mapping entry."""
        for i, (k, v) in enumerate(mapping.value):
            if k.value == key:
                if mapping.flow_style:
                    return None
                first = self.line_of(k.start_mark.index)
                if self.line_text(first)[: k.start_mark.column].strip() not in ("",):
                    return None  # key shares its line with a '- ' or other content
                last = self.last_line(v)
                return self.replace(self.line_start(first), self.line_end(last), "")
        return None


# -- node helpers ------------------------------------------------------------

def walk(node: Node) -> Iterator[Node]:
    seen: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        yield n
        if isinstance(n, MappingNode):
            for k, v in reversed(n.value):
                stack.append(v)
                stack.append(k)
        elif isinstance(n, SequenceNode):
            stack.extend(reversed(n.value))


def _nested_block_mappings(node: Node):
    for n in walk(node):
        if isinstance(n, MappingNode) and not n.flow_style:
            for k, v in n.value:
                if isinstance(v, MappingNode) and not v.flow_style and v.value:
                    if v.start_mark.line > k.start_mark.line:
                        yield n.value[0][0], v.value[0][0]


def get(node: Node | None, key: str, merged: bool = True) -> Node | None:
    """Value node of `key` in a mapping, following `<<` merge keys."""
    pair = get_pair(node, key, merged)
    return pair[1] if pair else None


def get_pair(node: Node | None, key: str, merged: bool = True):
    if not isinstance(node, MappingNode):
        return None
    merges = []
    for k, v in node.value:
        if isinstance(k, ScalarNode):
            if k.value == key and k.tag != "tag:yaml.org,2002:merge":
                return (k, v)
            if k.tag == "tag:yaml.org,2002:merge" or k.value == "<<":
                merges.append(v)
    if merged:
        for m in merges:
            for src in (m.value if isinstance(m, SequenceNode) else [m]):
                pair = get_pair(src, key, True)
                if pair:
                    return pair
    return None


def has_own(node: Node | None, key: str) -> bool:
    return get_pair(node, key, merged=False) is not None


def items(node: Node | None):
    """(key string, value node) pairs of a mapping, merge keys excluded."""
    if not isinstance(node, MappingNode):
        return []
    return [(k.value, v) for k, v in node.value
            if isinstance(k, ScalarNode) and k.tag != "tag:yaml.org,2002:merge" and k.value != "<<"]


def scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def to_python(node: Node) -> Any:
    """Plain Python value of a node, as PyYAML's safe loader builds it (merge keys
    applied). The document's own nodes are never changed: they point at the text.
    Raises yaml.constructor.ConstructorError where the safe loader would."""
    try:
        return _Build().value(node)
    except _Unusual:
        import copy

        loader = yaml.SafeLoader("")
        try:
            return loader.construct_document(copy.deepcopy(node))
        finally:
            loader.dispose()


class _Unusual(Exception):
    """A tag the fast path leaves to PyYAML's constructor (sets, omaps, pairs)."""


_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_SAFE = yaml.constructor.SafeConstructor
_SCALAR_TAGS = {t for t in _SAFE.yaml_constructors if t and t not in (_SEQ, _MAP)} - {
    "tag:yaml.org,2002:set", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"}
_scalar_values: dict[tuple[str, str], Any] = {}


# Compose's merge tags: `!override` replaces what a base file has (the value is the
# node's own), `!reset` removes it (null here; a mapping leaves a reset key out)
_RESET, _OVERRIDE = "!reset", "!override"
_resolver = yaml.resolver.Resolver()


def _untagged(node: Node) -> str:
    """The tag the node would have without `!override`/`!reset`."""
    if isinstance(node, ScalarNode):
        return _STR if node.style else _resolver.resolve(ScalarNode, node.value, (True, False))
    return _SEQ if isinstance(node, SequenceNode) else _MAP


def _scalar(node: ScalarNode) -> Any:
    if node.tag == _STR:
        return node.value
    if node.tag == _RESET:
        return None
    if node.tag == _OVERRIDE:
        node = ScalarNode(_untagged(node), node.value, node.start_mark, node.end_mark, node.style)
    key = (node.tag, node.value)
    try:
        return _scalar_values[key]
    except KeyError:
        pass
    if node.tag not in _SCALAR_TAGS:
        if node.tag in _SAFE.yaml_constructors:
            raise _Unusual(node.tag)
        raise yaml.constructor.ConstructorError(
            None, None, f"could not determine a constructor for the tag {node.tag!r}", node.start_mark)
    value = _SAFE.yaml_constructors[node.tag](_SAFE(), node)
    if len(_scalar_values) < 50_000:
        _scalar_values[key] = value
    return value


class _Build:
    """Recursive construction; aliases share one value, as in PyYAML."""

    def __init__(self):
        self.done: dict[int, Any] = {}
        self.busy: set[int] = set()

    def value(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            return _scalar(node)
        nid = id(node)
        if nid in self.done:
            return self.done[nid]
        if nid in self.busy:
            raise _Unusual("recursive alias")
        if node.tag == _RESET:
            return None
        if node.tag not in (_SEQ, _MAP, _OVERRIDE):
            if node.tag in _SAFE.yaml_constructors:
                raise _Unusual(node.tag)
            raise yaml.constructor.ConstructorError(
                None, None, f"could not determine a constructor for the tag {node.tag!r}", node.start_mark)
        self.busy.add(nid)
        if isinstance(node, SequenceNode):
            out: Any = [self.value(n) for n in node.value]
        else:
            out = {}
            for k, v in self._pairs(node):
                if v.tag == _RESET:    # the key is reset: as if absent
                    continue
                key = self.value(k)
                try:
                    out[key] = self.value(v)
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, "found unhashable key",
                        k.start_mark) from None
        self.busy.discard(nid)
        self.done[nid] = out
        return out

    def _pairs(self, node: MappingNode) -> list[tuple[Node, Node]]:
        """Key/value pairs with `<<` merges applied (explicit keys win)."""
        if not any(k.tag == _MERGE for k, _ in node.value):
            return node.value
        merged: list = []
        own: list = []
        for k, v in node.value:
            if k.tag != _MERGE:
                own.append((k, v))
                continue
            # as PyYAML: `<<: [*a, *b]` puts b's pairs first, so a's win
            for src in reversed(v.value) if isinstance(v, SequenceNode) else [v]:
                if not isinstance(src, MappingNode):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        "expected a mapping for merging", src.start_mark)
                merged.extend(self._pairs(src))
        return merged + own


# -- rendering new YAML ------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./:@+=-]*$")
# characters a double-quoted YAML scalar cannot hold as they are (json.dumps leaves them)
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


# numbers in YAML 1.2's core schema (compose and Kubernetes readers use it): quoted too
_YAML12_NUMBER = re.compile(r"^[-+]?(?:0o[0-7]+|0x[0-9a-fA-F]+|(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                            r"|\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


class Raw(str):
    """Text written into YAML as it is (already valid YAML)."""


def render_scalar(value: Any) -> str:
    """`value` as a YAML scalar that loads back as the same value and type."""
    if isinstance(value, Raw):
        return str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return yaml.representer.SafeRepresenter().represent_float(value).value
    s = str(value)
    if _PLAIN.match(s) and not _YAML12_NUMBER.match(s) and _stays_plain(s):
        return s
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json.dumps(s, ensure_ascii=False))


@lru_cache(maxsize=4096)
def _stays_plain(s: str) -> bool:
    """A plain `s` reads back as the string `s`: the reading loader's resolver tags it
    a string, and it survives as a value, a key and in flow collections."""
    if _Loader.resolve(_RESOLVER, ScalarNode, s, (True, False)) != _STR:
        return False
    try:
        node = yaml.compose(f"a: {s}\n{s}: b\nc: [{s}]\nd: {{{s}: e}}\n", Loader=_Loader)
    except yaml.YAMLError:
        return False
    pairs = node.value if isinstance(node, MappingNode) else []
    if len(pairs) != 4 or not isinstance(pairs[2][1], SequenceNode) or not isinstance(pairs[3][1], MappingNode):
        return False
    found = [pairs[0][1], pairs[1][0], *pairs[2][1].value, *(k for k, _ in pairs[3][1].value)]
    return len(found) == 4 and all(
        isinstance(n, ScalarNode) and n.value == s and n.tag == _STR and not n.style for n in found)


_RESOLVER = _Loader("")


def render_flow(value: Any) -> str:
    if isinstance(value, Flow):
        value = value.value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{render_scalar(k)}: {render_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render_flow(v) for v in value) + "]"
    return render_scalar(value)


class Flow:
    """Wrap a list or dict to render it in flow style: `[ALL]`."""

    def __init__(self, value: Any):
        self.value = value


def render_entry(key: str, value: Any, col: int, step: int, seq_off: int) -> list[str]:
    pad = " " * col
    k = render_scalar(key)
    if isinstance(value, Flow):
        return [f"{pad}{k}: {render_flow(value.value)}"]
    if isinstance(value, dict) and value:
        return [f"{pad}{k}:"] + render_value_lines(value, col + step, step, seq_off)
    if isinstance(value, list) and value:
        return [f"{pad}{k}:"] + render_value_lines(value, col + seq_off, step, seq_off)
    if isinstance(value, (dict, list)):
        return [f"{pad}{k}: {render_flow(value)}"]
    return [f"{pad}{k}: {render_scalar(value)}"]


def render_value_lines(value: Any, col: int, step: int, seq_off: int) -> list[str]:
    """Block YAML lines for a dict or list whose entries start at `col`."""
    pad = " " * col
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(render_entry(k, v, col, step, seq_off))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                inner = render_value_lines(item, col + 2, step, seq_off)
                out.append(pad + "- " + inner[0].lstrip(" "))
                out.extend(inner[1:])
            elif isinstance(item, Flow):
                out.append(pad + "- " + render_flow(item.value))
            else:
                out.append(pad + "- " + render_flow(item))
    else:
        out.append(pad + render_scalar(value))
    return out
