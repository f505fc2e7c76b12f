"""Helpers shared by the GitHub Actions workflow codemods."""
from __future__ import annotations

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from fixer.yamldoc import get, items, scalar


def root(doc) -> MappingNode | None:
    if not doc.docs or not isinstance(doc.docs[0], MappingNode):
        return None
    return doc.docs[0]


def jobs(doc):
    """(job id, key node, job mapping) for each job of a workflow."""
    r = root(doc)
    js = get(r, "jobs")
    if not isinstance(js, MappingNode):
        return
    for k, v in js.value:
        if isinstance(k, ScalarNode) and isinstance(v, MappingNode):
            yield k.value, k, v


def steps(job: MappingNode):
    """(index, step mapping) for each step of a job."""
    seq = get(job, "steps")
    if not isinstance(seq, SequenceNode):
        return
    for i, st in enumerate(seq.value):
        if isinstance(st, MappingNode):
            yield i, st


def step_label(i: int, step: MappingNode) -> str:
    name = scalar(get(step, "name")) or scalar(get(step, "id")) or scalar(get(step, "uses"))
    return f"step {i + 1}" + (f" ({name})" if name else "")


def env_blocks(doc):
    """(where, kind, env mapping, job id or None) for every `env:` a workflow can hold.

    kind is workflow, job, step, container or service.
    """
    r = root(doc)
    env = get(r, "env")
    if isinstance(env, MappingNode):
        yield "workflow env", "workflow", env, None
    for jid, _, job in jobs(doc):
        env = get(job, "env")
        if isinstance(env, MappingNode):
            yield f"job {jid} env", "job", env, jid
        cont = get(job, "container")
        if isinstance(cont, MappingNode) and isinstance(get(cont, "env"), MappingNode):
            yield f"job {jid} container env", "container", get(cont, "env"), jid
        svcs = get(job, "services")
        for name, svc in items(svcs):
            env = get(svc, "env")
            if isinstance(env, MappingNode):
                yield f"job {jid} service {name} env", "service", env, jid
        for i, st in steps(job):
            env = get(st, "env")
            if isinstance(env, MappingNode):
                yield f"job {jid} {step_label(i, st)} env", "step", env, jid


def uses_of(job: MappingNode) -> list[str]:
    """The `uses:` values of a job's steps (lower-cased, without @ref)."""
    out = []
    for _, st in steps(job):
        u = scalar(get(st, "uses"))
        if u:
            out.append(u.split("@", 1)[0].lower())
    return out


def runs_of(job: MappingNode) -> str:
    return "\n".join(scalar(get(st, "run")) or "" for _, st in steps(job))
