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
    paths = sorted(ctx.ws.all_paths | set(ctx.ws.files))
    for path in paths:
        if not _WHERE.search(path):
            continue
        text = original(ctx, path) or ""
        if "kubectl" not in text and not posixpath.basename(path).startswith("kustomization"):
            continue
        base = posixpath.dirname(path)
        for m in _APPLY.finditer(text):
            args = m.group(1)
            recursive = re.search(r"(?:^|\s)(-R|--recursive)\b", args) is not None
            for f in _FLAG.finditer(args):
                target = f.group(2)
                if "://" in target or target == "-" or re.search(r"\.(ya?ml|json)$", target):
                    continue
                for b in dict.fromkeys([base, ""]):
                    t = _norm(b, target)
                    if t == folder or (recursive and (t == "" or folder.startswith(t + "/"))):
                        line = text.count("\n", 0, m.start()) + 1
                        return f"{path}:{line}: {m.group(0).strip()[:80]}"
        if posixpath.basename(path) in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
            for m in re.finditer(r"^\s*-\s*['\"]?([^\s'\"#]+)", text, re.M):
                if _norm(base, m.group(1)) == folder and not re.search(r"\.(ya?ml|json)$", m.group(1)):
                    return f"{path}:{text.count(chr(10), 0, m.start()) + 2}: lists {m.group(1)}"
    return None
