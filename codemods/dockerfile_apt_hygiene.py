"""dockerfile-apt-hygiene: apt-get install --no-install-recommends (DL3015) and
removing /var/lib/apt/lists in the same RUN (DL3009)."""
from __future__ import annotations

from fixer.codemod import Codemod, Example, Finding, Skip

from ._dockerfile_util import append_command, commands, left_alone, package_args, stage_chain

# Debian packages whose Recommends (followed through their dependencies) matter at run time
# only through the packages listed here; a package not in this table is not touched.
# Checked against Debian 12's package metadata.
_TLS = frozenset({"ca-certificates"})
_LIBC = frozenset({"libc6-dev"})
RECOMMENDS: dict[str, frozenset[str]] = {
    **{p: frozenset() for p in (
        "ca-certificates tini dumb-init gosu tzdata locales procps netcat-openbsd "
        "netcat-traditional unzip zip xz-utils jq less nano make libpq-dev libpq5 "
        "postgresql-client libffi-dev libssl-dev pkg-config dnsutils net-tools file rsync "
        "sqlite3 tar bzip2 lsb-release libmagic1 libgomp1 unixodbc-dev libonig-dev gnupg "
        "build-essential zlib1g-dev libjpeg-dev libxml2-dev libxslt1-dev libsqlite3-dev "
        "libzip-dev libicu-dev default-libmysqlclient-dev libc6-dev openssl").split()},
    **{p: _TLS for p in ("curl wget git python3 python3-venv libcurl4-openssl-dev "
                         "apt-transport-https").split()},
    **{p: _LIBC for p in ("gcc", "g++")},
    "python3-dev": _LIBC,
}
LISTS = "/var/lib/apt/lists"


def apt_install(cmd):
    """The `install` word when the command is an apt-get install."""
    words = cmd.values
    if cmd.name == "apt-get" and "install" in words[1:]:
        return cmd.words[words.index("install", 1)]
    return None


def later_apt_without_update(doc, stage, ins) -> bool:
    """A later RUN (this stage or a stage built from it) installs without its own update."""
    after = False
    for st in doc.stages[stage.index:]:
        if st is not stage and stage not in stage_chain(doc, st):
            continue
        for other in st.find("RUN"):
            if other is ins:
                after = True
                continue
            if not after and st is stage:
                continue
            text = other.original
            if ("apt-get" in text or "apt " in text) and "install" in text and "update" not in text:
                return True
            if other.json or other.heredocs:
                if "apt" in text:
                    return True
    return False


def cleans_lists(cmd) -> bool:
    """`apt-get dist-clean` (apt 2.7.8 and later) removes the package lists itself."""
    return cmd.name in ("apt-get", "apt") and any(w in ("dist-clean", "distclean") for w in cmd.values[1:])


class DockerfileAptHygiene(Codemod):
    id = "dockerfile-apt-hygiene"
    title = "apt-get install without recommends, and drop the package lists"
    kinds = ("dockerfile",)
    severity = "low"
    checks = ("hadolint:DL3015", "hadolint:DL3009")
    order = 110
    scope = "file"
    rationale = (
        "Recommended packages and the apt package lists bloat every image layer. "
        "--no-install-recommends is added only when every package is known (Debian 12 "
        "metadata) not to need its recommendations, beyond packages the same command installs "
        "(curl needs ca-certificates for HTTPS, gcc needs libc6-dev). `rm -rf "
        "/var/lib/apt/lists/*` is appended only when no later RUN installs without updating "
        "first, and never with a cache mount.")
    examples = [
        Example("Dockerfile",
                "FROM debian:bookworm-slim\nRUN apt-get update \\\n    && apt-get install -y curl ca-certificates\n"
                "CMD [\"bash\"]\n",
                "FROM debian:bookworm-slim\nRUN apt-get update \\\n"
                "    && apt-get install --no-install-recommends -y curl ca-certificates \\\n"
                "    && rm -rf /var/lib/apt/lists/*\nCMD [\"bash\"]\n"),
        Example("Dockerfile",
                "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n", skip="needs recommended ca-certificates"),
        Example("Dockerfile",
                "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y python3-pip\n"
                "RUN apt-get install -y tini\n",
                "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y python3-pip\n"
                "RUN apt-get install --no-install-recommends -y tini && rm -rf /var/lib/apt/lists/*\n"),
        Example("Dockerfile",
                "FROM debian:trixie-slim\nRUN set -eux; apt-get update; \\\n"
                "    apt-get install -y --no-install-recommends tzdata; \\\n    apt-get dist-clean\n"),
    ]

    def fix(self, doc, ctx):
        for st in doc.stages:
            for ins in st.find("RUN"):
                installs = [c for c in commands(doc, ins) if apt_install(c) is not None]
                if not installs:
                    continue
                line = ins.start_line + 1
                cache = any(f.startswith("--mount=") and "cache" in f for f in ins.flags)
                yield from left_alone(doc, ins, installs, "apt-get install")
                if not all(c.editable for c in installs):
                    continue
                for body in installs:
                    words = body.values
                    if any(w in ("--no-install-recommends",) or "Install-Recommends" in w for w in words):
                        continue
                    pkgs = package_args(body)
                    unknown = [p for p in pkgs if p not in RECOMMENDS]
                    need = set().union(*(RECOMMENDS.get(p, frozenset()) for p in pkgs)) - set(pkgs)
                    if not pkgs or any("$" in p for p in pkgs):
                        yield Skip(doc.path, line, "apt-get install packages are not literal")
                    elif unknown:
                        yield Skip(doc.path, line, "recommended packages may be needed by "
                                   + ", ".join(unknown[:3]) + ("…" if len(unknown) > 3 else ""))
                    elif need:
                        yield Skip(doc.path, line, "needs recommended " + ", ".join(sorted(need)))
                    else:
                        yield Finding(doc.path, line, "apt-get install pulls in recommended packages",
                                      [doc.insert(apt_install(body).end, " --no-install-recommends")],
                                      check="hadolint:DL3015",
                                      # fewer packages, each checked against the table
                                      safety="evidenced")
                if LISTS in ins.original or any(cleans_lists(c) for c in commands(doc, ins)):
                    continue
                if cache:
                    yield Skip(doc.path, line, "apt lists live in a cache mount")
                elif later_apt_without_update(doc, st, ins):
                    yield Skip(doc.path, line, "a later RUN installs from these package lists")
                else:
                    edit = append_command(doc, ins, "rm -rf /var/lib/apt/lists/*")
                    if edit is None:
                        yield Skip(doc.path, line, "the RUN ends in a way a command cannot follow")
                    else:
                        yield Finding(doc.path, line, "apt package lists stay in the image",
                                      [edit], check="hadolint:DL3009")
