"""Validate a file after a codemod changed it: only regressions count.

Each check compares the new text with the old one, so a file that was
already off-schema can still be fixed, but an edit that adds a problem is
dropped.
"""
from __future__ import annotations

import hashlib
import json
import marshal
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable
from pathlib import Path

import yaml

from . import helm
from .discovery import COMPOSE, DOCKERFILE, HELM, K8S, PYTHON, WORKFLOW, YAML, HELM_VALUES
from yaml.nodes import MappingNode, ScalarNode

from .yamldoc import ParseError, compose_all, get, to_python, walk


LOST_ACTION = "a template action was lost"


def validate(kind: str, path: str, old: str | None, new: str, check_actions: bool = True) -> str | None:
    """Return a one-line reason when `new` is worse than `old`, else None.

    check_actions=False leaves out the Helm action check (the caller checked that
    the actions moved to another template).
    """
    check = _CHECKS.get(kind)
    if check is None:
        return None
    try:
        if kind == HELM:
            return _helm(path, old, new, check_actions)
        return check(path, old, new)
    except Exception as exc:  # a validator must never crash the run
        return f"validation failed: {exc.__class__.__name__}: {exc}"


def _yaml_errors(text: str) -> str | None:
    try:
        docs = compose_all(text)
    except ParseError as exc:
        return str(exc)
    return _duplicate_keys(docs)


def _duplicate_keys(docs) -> str | None:
    """libyaml accepts duplicate keys; YAML 1.2 and most consumers do not."""
    for d in docs:
        for n in walk(d):
            if isinstance(n, MappingNode):
                seen = set()
                for k, _ in n.value:
                    if isinstance(k, ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                        if k.value in seen:
                            return f"duplicate key '{k.value}' (line {k.start_mark.line + 1})"
                        seen.add(k.value)
    return None


def _plain_yaml(path, old, new):
    err = _yaml_errors(new)
    if err and (old is None or _yaml_errors(old) is None):
        return err
    return None


def _old_errors(fn, old: str | None) -> set[str]:
    if old is None:
        return set()
    try:
        return fn(old)
    except yaml.YAMLError:
        return set()


def load_all(text: str):
    """Data of every document, built from the (shared) composed nodes."""
    try:
        docs = compose_all(text)
    except ParseError as exc:
        raise yaml.YAMLError(str(exc)) from None
    return [d for d in map(to_python, docs) if d is not None]


@lru_cache(maxsize=1)
def _compose_validator():
    import jsonschema

    schema = json.loads((Path(__file__).parent / "data" / "compose-spec.json").read_text("utf-8"))
    return jsonschema.Draft7Validator(schema)


@lru_cache(maxsize=1)
def _compose_fast():
    """The compose schema compiled to Python by fastjsonschema (the generated code is
    kept in the cache directory), or None. It answers "valid?" about 4x faster than
    jsonschema; jsonschema still lists the errors when there are any."""
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    from .registry.cache import default_cache_dir

    text = (Path(__file__).parent / "data" / "compose-spec.json").read_text("utf-8")
    key = hashlib.sha256((text + fastjsonschema.VERSION).encode()).hexdigest()[:16]
    path = default_cache_dir() / "schemas" / f"compose-{key}.py"
    try:
        code = path.read_text("utf-8")
    except OSError:
        code = fastjsonschema.compile_to_code(json.loads(text), use_default=False, use_formats=False)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(code, "utf-8")
            os.replace(tmp, path)
        except OSError:
            pass
    # the compiled code object is kept too (as Python keeps bytecode): compiling the
    # generated module costs about 0.3 s a run otherwise
    compiled = path.with_suffix(f".{sys.implementation.cache_tag}.marshal")
    try:
        obj = marshal.loads(compiled.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        obj = compile(code, str(path), "exec")
        try:
            tmp = compiled.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps(obj))
            os.replace(tmp, compiled)
        except OSError:
            pass
    space: dict = {}
    exec(obj, space)
    root = re.search(r"^def (\w+)\(", code, re.M).group(1)   # the schema's own function comes first
    service = re.search(r"^def (\w+__definitions_service)\(", code, re.M)
    return FastCompose(space[root], space[service.group(1)] if service else None,
                       fastjsonschema.JsonSchemaException)


@dataclass
class FastCompose:
    """The compiled compose schema: the whole file, one service, the error it raises."""
    check: Callable
    check_service: Callable | None
    failed: type


_valid_services: set[str] = set()    # texts of services found valid (a codemod changes a few)


def _fast_valid(text: str, fast: FastCompose) -> bool:
    """True when the compiled schema accepts every document. A service whose text was
    valid before is not built or checked again (files without aliases, merges or tag
    directives, where a service's text alone decides its data)."""
    check, check_service = fast.check, fast.check_service
    try:
        nodes = compose_all(text)
    except ParseError as exc:
        raise yaml.YAMLError(str(exc)) from None
    by_service = check_service is not None and "*" not in text and "<<" not in text \
        and not text.startswith("%") and "\n%" not in text
    try:
        for node in nodes:
            services = get(node, "services", merged=False) if by_service else None
            if not isinstance(services, MappingNode):
                data = to_python(node)
                if data is not None:
                    check(data)
                continue
            root = {}
            for k, v in node.value:
                root[to_python(k)] = {to_python(n): {} for n, _ in services.value} if v is services \
                    else to_python(v)
            check(root)
            for _, v in services.value:
                span = text[v.start_mark.index:v.end_mark.index]
                if span not in _valid_services:
                    check_service(to_python(v))
                    if len(_valid_services) < 50_000:
                        _valid_services.add(span)
        return True
    except (fast.failed, RecursionError, TypeError):
        return False


@lru_cache(maxsize=8192)
def compose_errors(text: str) -> frozenset[str]:
    fast = _compose_fast()
    if fast is not None and _fast_valid(text, fast):
        return frozenset()
    docs = load_all(text)
    v = _compose_validator()
    out = set()
    for doc in docs:
        for e in v.iter_errors(doc):
            out.add(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}")
    return frozenset(out)


def _compose(path, old, new):
    err = _plain_yaml(path, old, new)
    if err:
        return err
    new_errors = compose_errors(new)
    added = new_errors - _old_errors(compose_errors, old) if new_errors else new_errors
    if added:
        return "compose schema: " + sorted(added)[0][:200]
    return None


@lru_cache(maxsize=8192)
def k8s_errors(text: str) -> frozenset[str]:
    """Schema errors of every resource (kubernetes-validate's strict schemas)."""
    out = set()
    for doc in load_all(text):
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            continue
        docs = doc.get("items", []) if doc.get("kind") == "List" else [doc]
        for d in docs:
            if not isinstance(d, dict):
                continue
            v = _k8s_validator(str(d.get("kind")), str(d.get("apiVersion")))
            if v is None:
                continue
            for e in v.iter_errors(d):
                where = "/".join(map(str, e.absolute_path))
                out.add(f"{d.get('kind')}/{where}: {e.message}")
    return frozenset(out)


@lru_cache(maxsize=None)
def _k8s_schema_dir() -> tuple[str, object]:
    from kubernetes_validate import utils

    version = utils.latest_version()
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    return folder, utils.schema_contents(f"{folder}/_definitions.json", version)


@lru_cache(maxsize=None)
def _k8s_validator(kind: str, api_version: str):
    """A compiled validator per kind, or None for kinds without a schema (CRDs)."""

    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    folder, definitions = _k8s_schema_dir()
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"{folder}/{kind.lower()}-{api}.json", utils.latest_version())
    except (FileNotFoundError, utils.InvalidSchemaError, utils.VersionNotSupportedError):
        return None
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _k8s(path, old, new):
    err = _plain_yaml(path, old, new)
    if err:
        return err
    new_errors = k8s_errors(new)
    added = new_errors - _old_errors(k8s_errors, old) if new_errors else new_errors
    if added:
        return "Kubernetes schema: " + sorted(added)[0][:200]
    return None


def _helm(path, old, new, check_actions=True):
    if check_actions and old is not None and not helm.preserves_actions(old, new):
        return LOST_ACTION
    return _plain_yaml(path, old and helm.mask(old), helm.mask(new))


def _dockerfile(path, old, new):
    from . import buildkit

    try:
        buildkit.parse(new)
    except buildkit.ParseError as exc:
        return "invalid Dockerfile: " + str(exc).splitlines()[0]
    return None


def _python(path, old, new):
    try:
        compile(new, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"invalid Python (line {exc.lineno}): {exc.msg}"
    return None


_CHECKS = {
    COMPOSE: _compose,
    K8S: _k8s,
    HELM: _helm,
    WORKFLOW: _plain_yaml,
    YAML: _plain_yaml,
    HELM_VALUES: _plain_yaml,
    DOCKERFILE: _dockerfile,
    PYTHON: _python,
}
