"""compose-read-only: read-only root filesystem with tmpfs for the paths an image writes."""
from __future__ import annotations

import re

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer import imagedb
from fixer.compose import (UNKNOWN, append_all, each_service, expand, has_build, image_of, is_true, lookup,
                           seq_values, volume_mounts)
from fixer.yamldoc import Flow, get, has_own, walk
from yaml.nodes import ScalarNode, SequenceNode

from ._image_facts import service_image

OWN_BUILD = ["/tmp"]
# Mount targets that show the entrypoint rewrites files outside a volume.
_TEMPLATES = ("/etc/nginx/templates",)
# Commands of own builds known to write state next to the code (celery beat's schedule file).
_WRITERS = re.compile(r"\bcelery\b.*\bbeat\b|\bcollectstatic\b|\bnpm\s+run\s+dev\b|--reload\b")


class ComposeReadOnly(Codemod):
    id = "compose-read-only"
    title = "Make the root filesystem of compose services read-only"
    kinds = ("compose", "dockerfile")   # Dockerfiles are read to follow wrappers
    targets = ("compose",)
    severity = "medium"
    safety = "evidenced"
    checks = ("cis-docker:5.12",)
    order = 230
    scope = "file"
    rationale = (
        "A read-only root filesystem stops an attacker from dropping tools or changing "
        "binaries and configuration inside a running container. Well-known images get tmpfs "
        "mounts for the paths they write (nginx caches and pid, the postgres socket "
        "directory, ...: the image knowledge base, fixer/data/images); own builds get /tmp, "
        "and an own build that only wraps a known image (`FROM ollama/ollama`) gets that "
        "image's decision. Data directories stay on their volumes. Images whose writable "
        "paths fixer does not know are skipped.")
    examples = [
        Example("compose.yaml",
                "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\n"
                "volumes:\n  pgdata:\n",
                "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\n"
                "    read_only: true\n    tmpfs: [/var/run/postgresql, /tmp]\n"
                "volumes:\n  pgdata:\n"),
        Example("compose.yaml",
                "services:\n  app:\n    image: example/app:1\n", skip="its writable paths are unknown"),
        Example("compose.yaml",
                "services:\n  web:\n    image: nginx\n    read_only: false\n",
                skip="sets read_only: false on purpose"),
    ]

    def fix(self, doc, ctx):
        for t in each_service(doc, ctx, adds=("read_only", "tmpfs"), later=("read_only",)):
            if isinstance(t, Skip):
                yield t
                continue
            name, svc, line = t.name, t.node, t.line
            ro = lookup(doc, svc, "read_only", ctx)
            if ro is not None:     # set either way: a choice made on purpose
                if ro is UNKNOWN:
                    yield Skip(doc.path, line, f"service {name} extends a service fixer cannot read")
                elif not is_true(ro):
                    yield Skip(doc.path, line, f"service {name} sets read_only: false on purpose: left as written")
                continue
            if is_true(lookup(doc, svc, "privileged", ctx)):
                yield Skip(doc.path, line, f"service {name} is privileged: read-only root left alone")
                continue
            paths, why = self._paths(doc, ctx, name, svc)
            if why:
                yield Skip(doc.path, line, why)
                continue
            vols = lookup(doc, svc, "volumes", ctx)
            targets = [t for *_, t, _ in volume_mounts(vols if vols is not UNKNOWN else None)]
            if any(t.rstrip("/") in _TEMPLATES for t in targets):
                yield Skip(doc.path, line, f"service {name} mounts templates the entrypoint renders in place")
                continue
            tmpfs = lookup(doc, svc, "tmpfs", ctx)
            if tmpfs is UNKNOWN:
                yield Skip(doc.path, line, f"service {name}: tmpfs cannot be read")
                continue
            have = [v.split(":")[0] for v in (seq_values(tmpfs) if isinstance(tmpfs, SequenceNode)
                                              else [tmpfs.value] if isinstance(tmpfs, ScalarNode) else [])]
            missing = [p for p in paths if p not in have and p not in targets]
            edits = [doc.add_entry(svc, "read_only", True)]
            if missing:
                if tmpfs is None:
                    edits.append(doc.add_entry(svc, "tmpfs", Flow(missing)))
                elif isinstance(tmpfs, SequenceNode) and has_own(svc, "tmpfs"):
                    edits.insert(0, append_all(doc, tmpfs, missing))   # same offset: append first
                else:
                    yield Skip(doc.path, line, f"service {name}: tmpfs is inherited or not a list")
                    continue
            yield Finding(doc.path, line,
                          f"service {name} has a writable root filesystem"
                          + (f" (tmpfs: {', '.join(missing)})" if missing else ""),
                          edits, check="cis-docker:5.12")

    @staticmethod
    def _paths(doc, ctx, name, svc) -> tuple[list[str], str]:
        """(tmpfs paths, "") for a service, or ([], the reason to leave it alone)."""
        if has_build(doc, svc, ctx):
            built = service_image(doc, svc, ctx)
            base = built.base if built is not None else None
            if base is not None and base.serves is not False:
                if not built.wrapper:
                    return [], (f"service {name} builds on {base.name} with a command of its own: "
                                "what it writes is unknown")
                return ComposeReadOnly._known(doc, ctx, name, svc, base, f"builds on {base.name}")
            if built is not None and base is None and not built.command:
                return [], (f"service {name} runs the program of its base image {built.base_ref}, "
                            "whose writable paths are unknown")
            cmd = " ".join(n.value for n in walk(get(svc, "command") or svc) if isinstance(n, ScalarNode)
                           ) if get(svc, "command") is not None else ""
            if _WRITERS.search(cmd):
                return [], f"service {name}: its command writes to the working directory"
            return OWN_BUILD, ""
        image = image_of(doc, svc, ctx)
        facts = imagedb.lookup(expand(image)) if image else None
        return ComposeReadOnly._known(doc, ctx, name, svc, facts, f"image {image}")

    @staticmethod
    def _known(doc, ctx, name, svc, facts, what) -> tuple[list[str], str]:
        if facts is None or facts.writable is None:
            why = f"{facts.name}: its writable paths are unknown" if facts else "its writable paths are unknown"
            return [], f"service {name} ({what}): {why}"
        return list(facts.writable), ""
