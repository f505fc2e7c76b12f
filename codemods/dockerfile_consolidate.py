"""dockerfile-consolidate: near-duplicate Dockerfiles become one multi-stage Dockerfile."""
from __future__ import annotations

from fixer.codemod import Codemod, Example, Option

_A = "FROM python:3.12-slim\nWORKDIR /app\nRUN pip install uv\nCOPY . .\nCMD [\"python\", \"a.py\"]\n"
_B = "FROM python:3.12-slim\nWORKDIR /app\nRUN pip install uv\nCOPY . .\nCMD [\"python\", \"b.py\"]\n"
_MERGED = """# One target per original Dockerfile (build with --target NAME):
#   a: svc/a/Dockerfile
#   b: svc/b/Dockerfile

FROM python:3.12-slim AS svc-base
WORKDIR /app
RUN pip install uv
COPY . .

FROM svc-base AS a
CMD ["python", "a.py"]

FROM svc-base AS b
CMD ["python", "b.py"]
"""
_COMPOSE = "services:\n  a:\n    build: ./svc/a\n  b:\n    build:\n      context: svc/b\n"


class DockerfileConsolidate(Codemod):
    id = "dockerfile-consolidate"
    title = "Merge near-duplicate Dockerfiles into one multi-stage Dockerfile"
    kinds = ("dockerfile", "compose", "workflow", "script", "python", "yaml")
    severity = "low"
    checks = ("maintainability:duplicate-dockerfile",)
    order = 900
    safety = "unsafe"     # deletes and merges files
    structural = True
    config = (Option("threshold", {"type": "number", "minimum": 0, "maximum": 1}, 0.8,
                     "similarity from which Dockerfiles are merged"),
              Option("output", {"type": "string"}, None,
                     "directory of the merged file (default: the members' common directory)"),
              Option("filename", {"type": "string"}, "Dockerfile", "name of the merged file"))
    rationale = (
        "Dozens of copies of one Dockerfile drift apart: a fix lands in some and not others. "
        "One multi-stage Dockerfile with a shared base stage and a named target per image keeps "
        "every image the same as before (same base, same instructions, same config) while the "
        "shared part is written once. Every compose file, workflow, script and Python deploy "
        "script that built an old file is pointed at the new target; a file something still uses "
        "in a way fixer cannot rewrite stays where it is and is reported.")
    examples = [
        Example("compose.yaml", _COMPOSE,
                "services:\n  a:\n    build: {context: ./svc/a, dockerfile: ../Dockerfile, target: a}\n"
                "  b:\n    build:\n      context: svc/b\n      dockerfile: ../Dockerfile\n      target: b\n",
                files={"svc/a/Dockerfile": _A, "svc/b/Dockerfile": _B, "svc/a/.dockerignore": "Dockerfile\n",
                       "svc/b/.dockerignore": "Dockerfile\n"}),
        # `COPY . .` took the Dockerfile itself into the image: a build recipe, not content
        Example("compose.yaml", _COMPOSE,
                "services:\n  a:\n    build: {context: ./svc/a, dockerfile: ../Dockerfile, target: a}\n"
                "  b:\n    build:\n      context: svc/b\n      dockerfile: ../Dockerfile\n      target: b\n",
                files={"svc/a/Dockerfile": _A, "svc/b/Dockerfile": _B}),
        # a COPY that names the Dockerfile ships it on purpose: left alone
        Example("compose.yaml", _COMPOSE, None,
                files={"svc/a/Dockerfile": _A.replace("COPY . .", "COPY Dockerfile /doc/"),
                       "svc/b/Dockerfile": _B.replace("COPY . .", "COPY Dockerfile /doc/")},
                skip="moving it would change the image"),
        # too different to share a file: the closest pair is named
        Example("a/Dockerfile", "FROM python:3.12-slim\nRUN pip install flask\nCMD [\"python\", \"a.py\"]\n",
                files={"b/Dockerfile": "FROM python:3.12-slim\nRUN apt-get update\nRUN useradd x\nUSER x\n"
                                       "CMD [\"python\", \"b.py\"]\n"},
                skip="below the threshold 0.80: nothing merged"),
    ]

    def run(self, ctx):
        if len(ctx.ws.paths(("dockerfile",))) < 2:
            return   # nothing to merge (and nothing examined)
        from fixer.consolidate import plan   # imported when there is something to merge

        yield from plan.run(self, ctx)
