"""Group near-duplicate Dockerfiles: bucket by what must be equal, then compare within."""
from __future__ import annotations

from collections import Counter
from difflib import SequenceMatcher

from .members import Member

MAX_LEADERS = 64      # a file is compared with at most this many clusters of its bucket


def similarity(a: tuple[list, list], b: tuple[list, list]) -> float:
    """Mean of the exact-instruction ratio and the instruction-keyword ratio.

    Near-duplicates differ in values (ENV, LABEL, CMD) more than in shape.
    """
    exact = SequenceMatcher(None, a[0], b[0], autojunk=False).ratio()
    shape = SequenceMatcher(None, a[1], b[1], autojunk=False).ratio()
    return (exact + shape) / 2


def clusters(members: list[Member], threshold: float, families: bool = True) -> list[list[Member]]:
    """Deterministic clusters (sorted by path) of two or more members each.

    Members are bucketed by family, parser directives, global ARGs and the first FROM
    (they cannot share a file otherwise); within a bucket each file joins the most similar
    cluster whose first member is at least `threshold` similar, else starts one.
    Cost is O(n * clusters per bucket), never all pairs of the repository.
    """
    buckets: dict[tuple, list[Member]] = {}
    for m in sorted(members, key=lambda m: m.path):
        # a family (family.root_of) never shares a file with another
        buckets.setdefault((m.bucket, m.root if families else ""), []).append(m)
    out: list[list[Member]] = []
    for key in sorted(buckets, key=lambda k: buckets[k][0].path):
        groups: list[tuple[list, list[Member]]] = []
        exact: dict[tuple, int] = {}
        postings: dict[int, list[tuple[int, int]]] = {}   # instruction -> (leader, count)
        for m in buckets[key]:
            seq = m.shape
            t = seq[0]
            if t in exact:
                groups[exact[t]][1].append(m)
                continue
            best, best_i = threshold, -1
            counts = Counter(t)
            # exact instructions shared with each leader (a multiset overlap, from the index):
            # with the keyword ratio at most 1, most leaders are out before any matcher runs
            shared = [0] * min(len(groups), MAX_LEADERS)
            for h, c in counts.items():
                for i, n in postings.get(h, ()):
                    shared[i] += min(c, n)
            # the file is the matchers' second sequence: its index is built once, not per leader
            same = SequenceMatcher(None, (), seq[0], autojunk=False)
            shape = SequenceMatcher(None, (), seq[1], autojunk=False)
            for i, (lead, _) in enumerate(groups[:MAX_LEADERS]):
                total = len(lead[0]) + len(t)
                if total and (2 * shared[i] / total + 1) / 2 < best:
                    continue
                same.set_seq1(lead[0])
                shape.set_seq1(lead[1])
                # upper bounds first (multiset overlap): most leaders stop here
                if (same.real_quick_ratio() + shape.real_quick_ratio()) / 2 < best or \
                        (same.quick_ratio() + shape.quick_ratio()) / 2 < best:
                    continue
                r = (same.ratio() + shape.ratio()) / 2
                if r >= best and (best_i < 0 or r > best):
                    best, best_i = r, i
            if best_i < 0:
                groups.append((seq, [m]))
                exact[t] = len(groups) - 1
                if len(groups) <= MAX_LEADERS:
                    for h, c in counts.items():
                        postings.setdefault(h, []).append((len(groups) - 1, c))
            else:
                groups[best_i][1].append(m)
                exact.setdefault(t, best_i)
        out += [g for _, g in groups if len(g) >= 2]
    return out


def families(texts: dict[str, str], all_paths, threshold: float) -> list[tuple[list[str], float]]:
    """Clusters `dockerfile-consolidate` would consider, from Dockerfile texts alone (for
    `fixer report`): (paths, lowest similarity to the cluster's first file)."""
    from ..dockerdoc import Dockerfile
    from ..yamldoc import ParseError
    from .family import compose_dirs, root_of

    docs: dict[str, Dockerfile] = {}

    def load(p: str) -> Dockerfile:
        if p not in docs:
            docs[p] = Dockerfile(p, texts[p])
        return docs[p]
    projects = compose_dirs(all_paths)
    members = []
    for p in sorted(texts):
        try:
            if load(p).stages:
                members.append(Member(p, load, root_of(p, projects)))
        except ParseError:     # a Dockerfile that does not parse is reported by the codemods
            continue
        docs.pop(p, None)
    out = []
    for cl in clusters(members, threshold):
        low = min(similarity(cl[0].shape, m.shape) for m in cl[1:])
        out.append(([m.path for m in cl], low))
    return out
