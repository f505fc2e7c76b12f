"""A repository shaped like the audit's: mcp-servers/*, variants, compose, workflow matrix, deploy script."""
from __future__ import annotations

SERVERS = ["ai-memory", "browser", "calendar", "docs", "email", "files", "git", "github",
           "maps", "notes", "search", "weather"]

IGNORE = "Dockerfile*\n*.Dockerfile\n"


def server(name: str, variant: str = "") -> str:
    extra = {"uv": "RUN echo uv > /app/uv.txt\n", "production": "ENV MODE=production\n"}.get(variant, "")
    return ("# syntax=docker/dockerfile:1\n"
            f"# {name} server\n"
            "FROM localhost/base\n"
            "WORKDIR /app\n"
            "RUN echo shared > /shared.txt \\\n    && mkdir -p /data\n"
            "COPY . /app/\n"
            f"ENV SERVER={name}\n"
            + extra +
            f"LABEL org.example.server=\"{name}\"\n"
            f"EXPOSE {8000 + len(name)}\n"
            "USER 1000\n"
            "HEALTHCHECK --interval=30s CMD [\"true\"]\n"
            f"CMD [\"sh\", \"-c\", \"echo {name}\"]\n")


MULTI = """FROM localhost/base AS build
RUN echo {n} > /out.txt
FROM localhost/base
COPY --from=build /out.txt /out.txt
COPY --from=0 /out.txt /again.txt
ENTRYPOINT ["cat"]
CMD ["/out.txt"]
"""

ARGBASE = """ARG BASE=localhost/base
FROM ${{BASE}}
WORKDIR /srv
RUN echo {n} > /srv/name.txt
CMD ["cat", "/srv/name.txt"]
"""

OTHERBASE = """FROM localhost/base2
WORKDIR /app
RUN echo shared > /shared.txt \\
    && mkdir -p /data
COPY . /app/
ENV SERVER={n}
CMD ["sh", "-c", "echo {n}"]
"""

WORKFLOW = """name: images
on: [push]
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        server: [{servers}]
    steps:
      - uses: actions/checkout@v4
      - name: Build
        run: |
          docker build -t ghcr.io/example/${{{{ matrix.server }}}} \\
            -f mcp-servers/${{{{ matrix.server }}}}/Dockerfile mcp-servers/${{{{ matrix.server }}}}
  uv:
    runs-on: ubuntu-latest
    steps:
      - uses: docker/build-push-action@v6
        with:
          context: mcp-servers/docs
          file: mcp-servers/docs/Dockerfile.uv
          push: false
"""

DEPLOY = '''"""Deploy every server."""
import subprocess

SERVICES = ["ai-memory", "browser"]


def build(service):
    subprocess.run(["docker", "build", "-f", f"mcp-servers/{service}/Dockerfile.production",
                    "-t", service, f"mcp-servers/{service}"], check=True)
'''


def files() -> dict[str, str]:
    out: dict[str, str] = {}
    for s in SERVERS:
        out[f"mcp-servers/{s}/Dockerfile"] = server(s)
        out[f"mcp-servers/{s}/.dockerignore"] = IGNORE
        out[f"mcp-servers/{s}/app.txt"] = f"{s}\n"
    for s in ("ai-memory", "docs", "git"):
        out[f"mcp-servers/{s}/Dockerfile.uv"] = server(s, "uv")
    for s in ("ai-memory", "browser"):
        out[f"mcp-servers/{s}/Dockerfile.production"] = server(s, "production")
    for n in ("compiler", "linker"):
        out[f"tools/{n}/Dockerfile"] = MULTI.format(n=n)
    for n in ("p", "q"):
        out[f"argbase/{n}/Dockerfile"] = ARGBASE.format(n=n)
    out["legacy/one/Dockerfile"] = OTHERBASE.format(n="one")
    out["legacy/one/.dockerignore"] = IGNORE
    # names its own Dockerfile in a COPY (ships it on purpose): must stay
    for n in ("a", "b"):
        out[f"selfcopy/{n}/Dockerfile"] = server(f"selfcopy-{n}").replace(
            "# syntax=docker/dockerfile:1\n", "").replace("COPY . /app/", "COPY Dockerfile /app/")
    out["compose.yaml"] = ("services:\n  memory:\n    build: ./mcp-servers/ai-memory\n"
                           "  maps:\n    build:\n      context: mcp-servers/maps\n"
                           "      dockerfile: Dockerfile\n    ports: [\"8080:8080\"]\n")
    out[".github/workflows/images.yml"] = WORKFLOW.format(servers=", ".join(SERVERS))
    out["deploy/deploy.py"] = DEPLOY
    out["Makefile"] = ("tools:\n\tdocker build -f tools/compiler/Dockerfile tools/compiler\n"
                       "\tdocker build -f tools/linker/Dockerfile --target build tools/linker\n")
    return out
