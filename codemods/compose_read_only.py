"""compose-read-only: read-only root filesystem with tmpfs for the paths an image writes."""
from __future__ import annotations

import re

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.compose import (UNKNOWN, append_all, each_service, has_build, image_of, is_true, lookup,
                           seq_values, service_family, volume_mounts)
from fixer.yamldoc import Flow, get, has_own, walk
from yaml.nodes import ScalarNode, SequenceNode

# Paths well-known images write outside their data volume (the image declares VOLUME for data,
# which stays writable under read_only).
TMPFS = {
    "nginx": ["/var/cache/nginx", "/var/run", "/tmp"],          # proxy/fastcgi caches, nginx.pid
    "nginx-unprivileged": ["/var/cache/nginx", "/tmp"],        # pid file lives in /tmp
    "postgres": ["/var/run/postgresql", "/tmp"],               # unix socket and lock file
    "redis": ["/tmp"],
    "valkey": ["/tmp"],
    "memcached": ["/tmp"],
    "mysql": ["/var/run/mysqld", "/tmp"],                      # socket, pid file, temp tables
    "mariadb": ["/run/mysqld", "/tmp"],                        # socket, pid file, temp tables
    "mongo": ["/tmp"],                                         # mongodb-27017.sock
    "httpd": ["/usr/local/apache2/logs", "/tmp"],              # httpd.pid
}
OWN_BUILD = ["/tmp"]
# Mount targets that show the entrypoint rewrites files outside a volume.
_TEMPLATES = ("/etc/nginx/templates",)
# Commands of own builds known to write state next to the code (celery beat's schedule file).
_WRITERS = re.compile(r"\bcelery\b.*\bbeat\b|\bcollectstatic\b|\bnpm\s+run\s+dev\b|--reload\b")


class ComposeReadOnly(Codemod):
    id = "compose-read-only"
    title = "Make the root filesystem of compose services read-only"
    kinds = ("compose",)
    severity = "medium"
    safety = "evidenced"
    checks = ("cis-docker:5.12",)
    order = 230
    scope = "file"
    rationale = (
        "A read-only root filesystem stops an attacker from dropping tools or changing "
        "binaries and configuration inside a running container. Well-known images get tmpfs "
        "mounts for the paths they write (nginx caches and pid, the postgres socket "
        "directory, ...); own builds get /tmp. Data directories stay on their volumes. "
        "Images fixer does not know are skipped.")
    examples = [
        Example("compose.yaml",
                "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\n"
                "volumes:\n  pgdata:\n",
                "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\n"
                "    read_only: true\n    tmpfs: [/var/run/postgresql, /tmp]\n"
                "volumes:\n  pgdata:\n"),
        Example("compose.yaml",
                "services:\n  app:\n    image: example/app:1\n", skip="is not in the table of known writable paths"),
        Example("compose.yaml",
                "services:\n  web:\n    image: nginx\n    read_only: false\n"),
    ]

    def fix(self, doc, ctx):
        for t in each_service(doc, ctx, adds=("read_only", "tmpfs"), later=("read_only",)):
            if isinstance(t, Skip):
                yield t
                continue
            name, svc, line = t.name, t.node, t.line
            ro = lookup(doc, svc, "read_only", ctx)
            if ro is not None:
                continue   # set either way: a choice made on purpose
            if is_true(lookup(doc, svc, "privileged", ctx)):
                yield Skip(doc.path, line, f"service {name} is privileged: read-only root left alone")
                continue
            fam = service_family(doc, svc, ctx)
            if fam in TMPFS and image_of(doc, svc, ctx):
                paths = TMPFS[fam]
            elif has_build(doc, svc, ctx):
                paths = OWN_BUILD
                cmd = " ".join(n.value for n in walk(get(svc, "command") or svc) if isinstance(n, ScalarNode)
                               ) if get(svc, "command") is not None else ""
                if _WRITERS.search(cmd):
                    yield Skip(doc.path, line, f"service {name}: its command writes to the working directory")
                    continue
            else:
                yield Skip(doc.path, line, f"service {name}: image {image_of(doc, svc, ctx)} is not in the "
                           "table of known writable paths")
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
