"""Allocation-heavy Python: records as dicts and tuples, string building,
sorting, grouping, JSON round trips and object graphs that are built and
dropped in waves. Objects over 512 bytes (big lists, dicts, strings, JSON
text) go to malloc, small ones to Python's own pymalloc arenas, which are
themselves carved out of 256 KiB mmaps.

Prints one line with a digest of everything computed, independent of the
allocator and of hash randomisation.

    python3 pyalloc.py [records-in-thousands] [rounds]
"""
import hashlib
import json
import sys


class Node:
    __slots__ = ("key", "children", "payload")

    def __init__(self, key, payload):
        self.key = key
        self.children = []
        self.payload = payload


def lcg(seed):
    """Deterministic numbers without the random module's state size."""
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield x >> 33


def make_records(n, gen):
    recs = []
    for i in range(n):
        r = next(gen)
        recs.append({
            "id": i,
            "name": "user%06d-%s" % (r % 1000003, "x" * (r % 23)),
            "group": r % 97,
            "score": (r % 10007) / 7.0,
            "tags": ["t%d" % (r % k) for k in range(2, 2 + r % 6)],
        })
    return recs


def group_and_sort(recs):
    groups = {}
    for rec in recs:
        groups.setdefault(rec["group"], []).append(rec)
    out = []
    for g in sorted(groups):
        members = sorted(groups[g], key=lambda r: (-r["score"], r["name"]))
        out.append((g, len(members), members[0]["name"]))
    return out


def build_tree(n, gen):
    nodes = [Node(0, b"")]
    for i in range(1, n):
        parent = nodes[next(gen) % len(nodes)]
        node = Node(i, bytes(next(gen) % 300))
        parent.children.append(node)
        nodes.append(node)
    return nodes[0]


def tree_digest(root):
    total, stack = 0, [root]
    while stack:
        node = stack.pop()
        total = (total * 31 + node.key + len(node.payload)) % (1 << 61)
        stack.extend(node.children)
    return total


def text_churn(recs):
    lines = ["%s;%d;%s" % (r["name"], r["group"], ",".join(r["tags"]))
             for r in recs]
    blob = "\n".join(lines)
    words = blob.replace(";", " ").replace(",", " ").split()
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    return len(blob), sorted(counts.items())[:50]


def one_round(n, seed, h):
    gen = lcg(seed)
    recs = make_records(n, gen)
    h.update(repr(group_and_sort(recs)).encode())
    h.update(repr(text_churn(recs)).encode())
    text = json.dumps(recs[: n // 4], sort_keys=True)
    h.update(hashlib.sha256(text.encode()).digest())
    h.update(repr(len(json.loads(text))).encode())
    del recs[::2]          # drop half, keep the rest alive a while
    h.update(repr(tree_digest(build_tree(n, gen))).encode())
    return recs


def main():
    n = int(sys.argv[1]) * 1000 if len(sys.argv) > 1 else 60000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    h = hashlib.sha256()
    survivors = []
    for r in range(rounds):
        survivors.append(one_round(n, r + 1, h))
        if len(survivors) > 2:
            survivors.pop(0)
    print("pyalloc digest=%s" % h.hexdigest()[:32])


if __name__ == "__main__":
    main()
