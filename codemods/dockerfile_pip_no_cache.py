"""dockerfile-pip-no-cache: `pip install` gets --no-cache-dir (DL3042)."""
from __future__ import annotations

from fixer.codemod import Codemod, Example, Finding, Skip

from fixer.shell import Word

from ._dockerfile_util import commands, left_alone, stage_chain


def pip_install(cmd) -> Word | None:
    """The `install` word when the command is a pip install."""
    words = cmd.values
    tool = cmd.name
    at = None
    if tool in ("pip", "pip3") or (tool.startswith("pip3.") and tool[5:].isdigit()):
        at = 1
    elif tool.startswith("python") and words[1:3] == ["-m", "pip"]:
        at = 3
    if at is None or len(words) <= at or words[at] != "install":
        return None
    return cmd.words[at]


def env_disables_cache(doc, stage) -> bool:
    for st in stage_chain(doc, stage):
        for ins in st.find("ENV") + st.find("ARG"):
            if any(v.upper().startswith(("PIP_NO_CACHE_DIR=", "PIP_NO_CACHE_DIR ")) for v in ins.value):
                return True
            if "PIP_NO_CACHE_DIR" in ins.original.upper():
                return True
    return False


class DockerfilePipNoCache(Codemod):
    id = "dockerfile-pip-no-cache"
    title = "Install Python packages with pip --no-cache-dir"
    kinds = ("dockerfile",)
    severity = "low"
    checks = ("hadolint:DL3042",)
    order = 105
    scope = "file"
    rationale = (
        "pip keeps downloaded wheels in ~/.cache/pip, which ends up in the image layer. "
        "--no-cache-dir installs the same packages without the cache. RUNs with a cache "
        "mount or their own --cache-dir are left alone.")
    examples = [
        Example("Dockerfile",
                "FROM python:3.12-slim\nRUN pip install -r requirements.txt \\\n"
                "    # pinned\n    && python -m pip install gunicorn\n",
                "FROM python:3.12-slim\nRUN pip install --no-cache-dir -r requirements.txt \\\n"
                "    # pinned\n    && python -m pip install --no-cache-dir gunicorn\n"),
        Example("Dockerfile",
                "FROM python:3.12-slim\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n", skip="RUN uses a cache mount"),
        Example("Dockerfile", "FROM python:3.12-slim\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask\n"),
    ]

    def fix(self, doc, ctx):
        for st in doc.stages:
            env_off = None
            for ins in st.find("RUN"):
                hits = [c for c in commands(doc, ins) if pip_install(c) is not None
                        and not any(w.startswith(("--no-cache-dir", "--cache-dir")) for w in c.values)]
                if not hits:
                    continue
                line = ins.start_line + 1
                if env_off is None:
                    env_off = env_disables_cache(doc, st)
                if env_off:
                    continue
                if any(f.startswith("--mount=") and "cache" in f for f in ins.flags):
                    yield Skip(doc.path, line, "RUN uses a cache mount")
                    continue
                yield from left_alone(doc, ins, hits, "pip install")
                edits = [doc.insert(pip_install(c).end, " --no-cache-dir") for c in hits if c.editable]
                if not edits:
                    continue
                yield Finding(doc.path, line, "pip install keeps its download cache in the image",
                              edits, check="hadolint:DL3042")
