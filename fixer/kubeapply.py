"""Whether a folder of manifests is applied as a whole (every file in it reaches the cluster):
`kubectl apply -f dir/` (or `-k`, `-R` on a parent) in docs, scripts, Makefiles and
workflows, or a kustomization that lists the folder. A placeholder Secret written there
would be applied over the real one."""
from __future__ import annotations

import posixpath
import re

from .envtemplate import original

_APPLY = re.compile(r"kubectl\s+(?:[^\n|;&]*?\s)?(?:apply|create|replace)\b([^\n|;&]*)")
_FLAG = re.compile(r"(?:^|\s)(-f|--filename|-k|--kustomize)(?:=|\s+)['\"]?([^\s'\"]+)")
_WHERE = re.compile(r"(?i)(\.(md|rst|txt|sh|bash|mk|ya?ml)$|(^|/)(makefile|justfile|readme[^/]*)$)")


def _norm(base: str, p: str) -> str:
    out = posixpath.normpath(posixpath.join(base, p.rstrip("/")))
    return "" if out == "." else out


def applied_whole(ctx, folder: str) -> str | None:
    """Where the folder is applied as a whole ('path:line: the command'), else None."""
    for where, target, recursive in _applies(ctx):
        if target == folder or (recursive and (target == "" or folder.startswith(target + "/"))):
            return where
    return None


def _applies(ctx) -> list[tuple[str, str, bool]]:
    """(where, folder, recursive) of every folder the repository applies as a whole; read
    once per run."""
    key = ("kubeapply", "folders")
    if key in ctx.shared:
        return ctx.shared[key]
    out: list[tuple[str, str, bool]] = []
    for path in sorted(ctx.ws.all_paths | set(ctx.ws.files)):
        if not _WHERE.search(path):
            continue
        name = posixpath.basename(path)
        kustomization = name in ("kustomization.yaml", "kustomization.yml", "Kustomization")
        text = original(ctx, path) or ""
        if "kubectl" not in text and not kustomization:
            continue
        base = posixpath.dirname(path)
        for m in _APPLY.finditer(text):
            args = m.group(1)
            recursive = re.search(r"(?:^|\s)(-R|--recursive)\b", args) is not None
            where = f"{path}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0).strip()[:80]}"
            for f in _FLAG.finditer(args):
                target = f.group(2)
                if "://" in target or target == "-" or re.search(r"\.(ya?ml|json)$", target):
                    continue
                for b in dict.fromkeys([base, ""]):
                    out.append((where, _norm(b, target), recursive))
        if kustomization:
            for m in re.finditer(r"^\s*-\s*['\"]?([^\s'\"#]+)", text, re.M):
                if not re.search(r"\.(ya?ml|json)$", m.group(1)) and "://" not in m.group(1):
                    out.append((f"{path}:{text.count(chr(10), 0, m.start(1)) + 1}: lists {m.group(1)}",
                                _norm(base, m.group(1)), False))
    ctx.shared[key] = out
    return out
