"""Secret values: found in the repository's files, masked in everything fixer prints.

Finding: every `NAME: value` / `NAME=value` pair of the infrastructure files (YAML
mappings, compose `- NAME=value` items, Kubernetes `{name, value}` env items, Dockerfile
`ENV`/`ARG`) is judged by the codemods' own rules (compose-secrets, gha-secrets,
k8s-secret-ref), whichever codemods run.

Masking: a value that is unambiguous (at least 8 characters mixing letters with digits
or symbols, or at least 16 characters) is masked wherever it appears. A weaker one
(`postgres`, `hunter2`) is masked only where it is a secret: as the value of a name those
rules call secret (`PASSWORD: postgres`, `DB_PASSWORD=postgres`, a Kubernetes `value:`
under such a `name:`), after a command-line flag naming one (`--requirepass r3dis`) or as
the password of a URL (`://user:postgres@`), always as a whole token. `ENV MCP_SERVER=postgres` stays readable.
Placeholders (`changeme`, `local`, `<set X>`) are not secrets.

The same rules find where else a value is used (`occurrences`), for the codemods that move
a value: every place moves together or none; and say which values stay (`why_stays`:
placeholders, values an adjacent comment marks as dummy, CI-only or test values).
"""
from __future__ import annotations

import bisect
import functools
import re
from typing import Callable, Iterable

MASK = "****"
# cheap test before a file is parsed: a secret-like name or a URL with a password
_HINT = re.compile(r"(?i)pass|pwd|secret|token|key|credential|dsn|auth|://[^\s/:@]*:[^\s/@]+@")
_TOKEN = r"A-Za-z0-9_"


def secret_in(name: str, value: str | None) -> str | None:
    """The secret `name: value` holds (a URL's password, or the whole value), else None."""
    from codemods.compose_secrets import ComposeSecrets
    from codemods.gha_secrets import secret_value
    from codemods.k8s_secret_ref import secret_like

    if value is None or not value.strip():
        return None
    hit = ComposeSecrets._literal(name, value)
    if hit:
        return hit[1]
    found = secret_value(name, value)
    if found:
        return found
    return value.strip() if secret_like(name, value) else None


def strong(value: str) -> bool:
    """Unambiguous enough to mask wherever it appears."""
    return len(value) >= 16 or (len(value) >= 8 and bool(re.search(r"[A-Za-z]", value))
                                and bool(re.search(r"[^A-Za-z]", value)))


# -- finding -------------------------------------------------------------------

def _pairs_yaml(text: str, helm_template: bool):
    import yaml

    from . import helm
    from .yamldoc import ParseError, compose_all, walk

    src = helm.mask(text) if helm_template else text
    try:
        docs = compose_all(src)       # shared parse, with its limits on alias expansion and size
    except ParseError:
        return

    def literal(v):   # None: not a scalar, or a template action
        if not isinstance(v, yaml.ScalarNode) or (helm_template and "{{" in text[v.start_mark.index:v.end_mark.index]):
            return None
        return v.value

    for d in docs:
        for node in walk(d):
            if isinstance(node, yaml.MappingNode):
                scalars = {k.value: literal(v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
                if scalars.get("name") and scalars.get("value") is not None:
                    yield scalars["name"], scalars["value"]
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and literal(v) is not None:
                        yield str(k.value), v.value
            elif isinstance(node, yaml.SequenceNode):
                for v in node.value:
                    if literal(v) is not None and "=" in v.value:
                        yield tuple(v.value.split("=", 1))


def _pairs_dockerfile(path: str, text: str):
    from .dockerdoc import Dockerfile

    try:
        instructions = Dockerfile(path, text).instructions
    except Exception:
        return
    for ins in instructions:
        if ins.cmd == "ENV":
            words = list(ins.value)
            if len(words) == 2 and "=" not in words[0]:
                yield words[0], words[1].strip("\"'")
                continue
            for i in range(0, len(words) - 1, 2):
                yield words[i], words[i + 1].strip("\"'")
        elif ins.cmd == "ARG":
            for w in ins.value:
                if "=" in w:
                    k, v = w.split("=", 1)
                    yield k, v.strip("\"'")


def find(path: str, kind: str, text: str) -> set[str]:
    """The secret values one file holds."""
    from . import discovery as disc

    if not _HINT.search(text):
        return set()
    if kind == disc.DOCKERFILE:
        pairs = _pairs_dockerfile(path, text)
    elif kind in (disc.COMPOSE, disc.K8S, disc.WORKFLOW, disc.YAML, disc.HELM_VALUES, disc.HELM):
        pairs = _pairs_yaml(text, kind == disc.HELM)
    else:
        return set()
    out = set()
    for name, value in pairs:
        # every rule needs a secret-like name or a URL with a password
        if isinstance(value, str) and (_HINT.search(str(name)) or "@" in value):
            hit = secret_in(str(name), value)
            if hit and not placeholder(hit):
                out.add(hit)
    return out


def find_all(ws, source=None, limit: int = 1 << 20) -> set[str]:
    """Secret values of every infrastructure file of the run's source: the files the
    codemods loaded, and those of other kinds (not loaded when their codemods do not run)."""
    out: set[str] = set()
    for st in list(ws.files.values()):
        if st.original:
            out |= find(st.path, st.kind, st.original)
    if source is not None:
        out |= find_unloaded(ws, source, limit)
    return out


def find_unloaded(ws, source, limit: int = 1 << 20) -> set[str]:
    """Secret values of the infrastructure files the run did not load."""
    from . import discovery as disc
    from .text import DecodeError, decode

    kinds = (disc.DOCKERFILE, disc.COMPOSE, disc.K8S, disc.WORKFLOW, disc.HELM_VALUES, disc.HELM)
    out: set[str] = set()
    for path in sorted(ws.all_paths - set(ws.files)):
        kind = disc.name_kind(path, ws.charts)
        if kind not in kinds and kind is not None:
            continue
        try:
            raw = source.read(path)
            if len(raw) > limit or b"\0" in raw[:8192]:
                continue
            text = decode(raw, path)[0]
        except (OSError, KeyError, DecodeError):
            continue
        if kind is None:        # a YAML file known by its content (a manifest, a compose file)
            kind = disc.content_kind(text)
            if kind not in kinds:
                continue
        out |= find(path, kind, text)
    return out


# -- masking -------------------------------------------------------------------

_KEY_BEFORE = re.compile(r"""(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)["']?(?:\s*:\s*|\s*=\s*|\s+)["']?$""")
_URL_BEFORE = re.compile(r"://[^\s/:@]*:$")
_FLAG = re.compile(r"(?i)pass|pwd|secret|token|key")
_NAME_LINE = re.compile(r"""^[ +\-]?\s*(?:-\s+)?["']?name["']?\s*:\s*["']?([A-Za-z_][A-Za-z0-9_.-]*)""")
_NAME_LINE_M = re.compile(_NAME_LINE.pattern.replace("\\s", "[ \\t]"), re.M)
_DASH_P = re.compile(r"\s-p$")


@functools.lru_cache(maxsize=8)
def _name_lines(text: str) -> list[tuple[int, str]]:
    """(offset, name) of every `name:` line (a codemod asks about one text many times)."""
    return [(m.start(), m.group(1)) for m in _NAME_LINE_M.finditer(text)]


def _secret_position(line: str, start: int, value: str, name: str | None) -> bool:
    """Whether `value` at `start` of `line` sits where a secret goes: a URL's password, the
    value of a secret-like name (a Kubernetes `value:` under such a `name:`), a flag."""
    # what decides is just before the value (searching a whole long line is slow)
    before = line[max(0, start - 256):start]
    if _URL_BEFORE.search(before) and line.startswith("@", start + len(value)):
        return True
    if _DASH_P.search(before):
        return True      # mysql -pPASSWORD
    tail = before.rstrip("\"'")
    if not tail or tail[-1] not in ":= \t":
        return False     # no `key: `, `key=` or `--flag ` right before it
    m = _KEY_BEFORE.search(before)
    if not m:
        return False
    key = m.group("key")
    if before[:m.start()].endswith("-") and _FLAG.search(key):
        return True      # a command-line flag: --requirepass VALUE, --password=VALUE
    if key == "value" and name:
        key = name
    return secret_in(key, value) == value


def masker(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function that masks these secret values in text (see the module's rules)."""
    values = {s for s in secrets if s and s.strip()}
    loud = sorted((s for s in values if strong(s)), key=len, reverse=True)
    weak = sorted((s for s in values if not strong(s)), key=len, reverse=True)
    if not values:
        return lambda text: text
    loud_re = re.compile("|".join(map(re.escape, loud))) if loud else None
    weak_re = re.compile(f"(?<![{_TOKEN}])(?:" + "|".join(map(re.escape, weak)) + f")(?![{_TOKEN}])") \
        if weak else None

    def mask_weak(text: str) -> str:
        out = []
        name = None        # the last Kubernetes-style `name:` seen (its `value:` follows)
        for line in text.splitlines(keepends=True):
            m = _NAME_LINE.match(line)
            if m:
                name = m.group(1)
            if weak_re.search(line):
                line = weak_re.sub(lambda h: MASK if _secret_position(h.string, h.start(), h.group(0), name)
                                   else h.group(0), line)
            out.append(line)
        return "".join(out)

    def mask(text: str) -> str:
        if not text:
            return text
        if loud_re is not None:
            text = loud_re.sub(MASK, text)
        if weak_re is not None:
            text = mask_weak(text)
        return text
    return mask


# -- placeholders and dummies ----------------------------------------------------

_PLACEHOLDER = re.compile(
    r"(?i)^(?:x{3,}|\*{3,}|\.{3}|-+|local|none|null|nil|n/?a|todo|tbd|unused|not[-_ ]?(?:needed|used|set|required)"
    r"|change[-_ ]?me.*|changeit|replace[-_ ]?me.*|example|placeholder|dummy.*|fake.*|sample|test"
    r"|your[-_ ].*|.*[-_ ]here|<[^<>]*>|\{\{[^{}]*\}\}|.*x{6,}.*|[a-z]+-\.\.\.|sk-\.\.\..*"
    r"|password|secret|.*[-_]?1234567890)$")
_DUMMY_NOTE = re.compile(
    r"(?i)\b(dummy|fake|placeholder|throw-?away|not (?:a )?real|ci[- ](?:only|safe)|"
    r"tests?(?:[- ]only)?|testing|example|insecure default|local dev(?:elopment)?(?: only)?)\b")


def placeholder(value: str) -> str | None:
    """Why a secret-position value is a placeholder that stays (None: a real value)."""
    v = value.strip().strip("\"'")
    if not v:
        return "empty"
    if _PLACEHOLDER.match(v):
        return f"placeholder value ({v})"
    if re.fullmatch(r"(/|\./|~/)[\w./@+-]*", v):
        return "a file path (the secret is in that file)"
    return None


def _comment(line: str) -> str:
    """The trailing comment of a YAML / shell / dotenv line ('' when none)."""
    s = line.lstrip()
    if s.startswith("#"):
        return s[1:]
    m = re.search(r"\s#(.*)$", line)
    return m.group(1) if m else ""


def dummy_note(text: str, line: int) -> str | None:
    """The adjacent comment marking the value on `line` (0-based) as a dummy, CI-only or
    test value: on its line, in the comment lines of its block above it, or on the line
    that opens the block (and the comments right above that)."""
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return None
    seen = [_comment(lines[line])]
    indent = len(lines[line]) - len(lines[line].lstrip())
    i = line - 1
    while i >= 0:
        s = lines[i]
        body = s.strip()
        if not body:
            i -= 1
            continue
        ind = len(s) - len(s.lstrip())
        if body.startswith("#"):
            seen.append(body[1:])
        elif ind < indent:
            seen.append(_comment(s))          # the line opening the block
            j = i - 1
            while j >= 0 and lines[j].strip().startswith("#"):
                seen.append(lines[j].strip()[1:])
                j -= 1
            break
        i -= 1
    for c in seen:
        m = _DUMMY_NOTE.search(c)
        if m:
            return c.strip()
    return None


def why_stays(value: str, text: str = "", line: int = -1) -> str | None:
    """Why a secret value is left where it is: a placeholder, or marked as a dummy."""
    reason = placeholder(value)
    if reason:
        return reason
    if text and line >= 0:
        note = dummy_note(text, line)
        if note:
            return f"marked as a dummy/CI/test value (comment: {note[:60]})"
    return None


# -- occurrences -----------------------------------------------------------------

def occurrences(text: str, value: str) -> list[int]:
    """Offsets where `value` appears in `text` as a secret: a whole token (never inside a
    longer word) that is, for a weak value, in a secret position (see the module's rules);
    a strong value counts wherever it is a whole token."""
    if not value or not value.strip() or value not in text:
        return []
    pat = re.compile(f"(?:(?<![{_TOKEN}])|(?<=\\s-p))" + re.escape(value) + f"(?![{_TOKEN}])")
    hits = [h.start() for h in pat.finditer(text)]
    if not hits or strong(value):
        return hits
    names = _name_lines(text)
    out = []
    for at in hits:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        line = text[start:end if end >= 0 else len(text)]
        k = bisect.bisect_right(names, (start, "\uffff")) - 1
        if _secret_position(line, at - start, value, names[k][1] if k >= 0 else None):
            out.append(at)
    return out
