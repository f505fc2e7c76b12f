"""A repository with every family and reference pattern consolidation follows."""
from __future__ import annotations


def service(name: str, port: int, extra: str = "") -> str:
    """A per-service copy: differs from its siblings only by the service's name and port."""
    return (f"# {name}: built from services/{name}\n"
            "FROM localhost/base\n"
            "WORKDIR /app\n"
            "RUN mkdir -p /data \\\n    && echo shared > /shared.txt\n"
            "COPY . /app/\n"
            f"RUN echo {name} > /app/name.txt\n"
            f"ENV SERVICE={name} PORT={port}\n"
            + extra +
            f"LABEL org.example.service=\"{name}\"\n"
            f"EXPOSE {port}\n"
            "# the server itself\n"
            f"CMD [\"sh\", \"-c\", \"cat /app/name.txt; echo {name}\"]\n")


SERVICES = ["alpha", "beta", "gamma"]
APPS = ["api", "web"]                 # folders holding Dockerfile + .uv + .production
JOBS = ["ingest", "report"]  # built by a function in scripts/build.sh
LOOPED = ["one", "two", "three"]      # built by a for loop
WORKERS = ["a", "b", "c"]             # workers/a is built by an unresolvable reference

BUILD_SH = """#!/bin/sh
# Build the batch jobs.
set -e
build_image() {
  local name=$1
  local dockerfile="$2"
  local context=$3
  echo "building $name"
  docker build -t "example/$name" -f "$dockerfile" "$context"
}

build_image ingest "jobs/ingest/Dockerfile" jobs/ingest
build_image report "jobs/report/Dockerfile" jobs/report
"""

LOOP_SH = """#!/bin/sh
for t in one two three; do
  docker build -f "tools/$t/Dockerfile" -t "tool-$t" "tools/$t"
done
"""

ADHOC_SH = """#!/bin/sh
# the Dockerfile comes from the caller: fixer cannot know it
docker build -f "$DOCKERFILE" workers/a
"""

STALE_SH = """#!/bin/bash
build_image() {
  docker build -f "$dockerfile" .
}
dockerfile=$1
build_image
"""

SAMPLE = """# sample backend
FROM localhost/base
WORKDIR /srv
COPY . /srv/
RUN echo backend > /srv/kind.txt
CMD ["cat", "/srv/kind.txt"]
"""


def files() -> dict[str, str]:
    out: dict[str, str] = {}
    for i, s in enumerate(SERVICES):
        out[f"services/{s}/Dockerfile"] = service(s, 8000 + i)
        out[f"services/{s}/main.txt"] = f"{s}\n"
    for a in APPS:
        out[f"apps/{a}/Dockerfile"] = service(a, 9000)
        out[f"apps/{a}/Dockerfile.uv"] = service(a, 9000, "RUN echo uv > /app/uv.txt\n")
        out[f"apps/{a}/Dockerfile.production"] = service(a, 9000, "ENV MODE=production\n")
        out[f"apps/{a}/app.txt"] = f"{a}\n"
    for j in JOBS:
        out[f"jobs/{j}/Dockerfile"] = service(j, 7000)
    for t in LOOPED:
        out[f"tools/{t}/Dockerfile"] = service(t, 6000)
    for w in WORKERS:
        out[f"workers/{w}/Dockerfile"] = service(w, 5000)
    out["scripts/build.sh"] = BUILD_SH
    out["scripts/loop.sh"] = LOOP_SH
    out["scripts/adhoc.sh"] = ADHOC_SH
    out["backups/scripts_cleanup_20250705_101500/build.sh"] = STALE_SH
    # independent sample projects, each with its own compose file: never one family
    for p in ("shop", "blog"):
        out[f"samples/{p}/compose.yaml"] = "services:\n  backend:\n    build: backend\n"
        out[f"samples/{p}/backend/Dockerfile"] = SAMPLE
    return out
