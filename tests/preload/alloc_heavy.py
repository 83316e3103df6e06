"""An allocation-heavy, deterministic Python workload for run.sh: dicts,
lists, strings, bytes, sets, objects with reference cycles, and a JSON
round trip. Its output is compared byte for byte with a run without the
library. No time, no addresses, no hash-order dependence (sorted output)."""
import gc
import hashlib
import json
import sys


def lcg(seed):
    while True:
        seed = (seed * 6364136223846793005 + 1442695040888963407) % 2**64
        yield seed >> 33


class Node:
    __slots__ = ("name", "children", "parent", "payload")

    def __init__(self, name, parent=None):
        self.name = name
        self.children = []
        self.parent = parent  # a reference cycle, for the collector
        self.payload = name * 3


def build_tree(rand, depth, width, name="r"):
    root = Node(name)
    stack = [(root, 0)]
    while stack:
        node, d = stack.pop()
        if d == depth:
            continue
        for i in range(1 + next(rand) % width):
            child = Node(f"{node.name}.{i}", node)
            node.children.append(child)
            stack.append((child, d + 1))
    return root


def count(node):
    n, stack = 0, [node]
    while stack:
        x = stack.pop()
        n += 1
        stack.extend(x.children)
    return n


def main():
    rand = lcg(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
    out = hashlib.sha256()

    # dicts and strings: a word index
    words = ["".join(chr(97 + next(rand) % 26) for _ in range(1 + next(rand) % 9))
             for _ in range(200000)]
    index = {}
    for i, w in enumerate(words):
        index.setdefault(w, []).append(i)
    top = sorted(index.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:10]
    print("distinct words:", len(index))
    for w, pos in top:
        print(f"  {w!r}: {len(pos)} first at {pos[0]}")

    # lists: sort, slice, grow and shrink
    nums = [next(rand) % 1000003 for _ in range(300000)]
    nums.sort()
    print("median:", nums[len(nums) // 2], "sum:", sum(nums[::97]))
    while len(nums) > 1000:
        del nums[::2]
    print("left:", len(nums), nums[:5])

    # strings and bytes: join, replace, encode
    text = " ".join(words[:50000])
    text2 = text.replace("a", "AA").upper().encode("utf-8")
    out.update(text2)
    print("text:", len(text), len(text2))
    blobs = [bytes([i % 256]) * (1 + (i * 7919) % 70000) for i in range(600)]
    print("blobs:", sum(len(b) for b in blobs), hashlib.sha256(b"".join(blobs)).hexdigest()[:16])

    # sets and tuples
    s1 = {(w, len(w)) for w in words[:100000]}
    s2 = {(w, len(w)) for w in words[50000:150000]}
    print("sets:", len(s1 & s2), len(s1 | s2), len(s1 ^ s2))

    # objects with cycles, then the collector
    trees = [build_tree(rand, 6, 4, f"t{i}") for i in range(20)]
    print("tree nodes:", [count(t) for t in trees[:8]], sum(count(t) for t in trees))
    del trees
    print("collected something:", gc.collect() > 0)

    # JSON round trip
    doc = {
        "words": {w: pos[:5] for w, pos in sorted(index.items())[:20000]},
        "nested": [{"id": i, "tags": [words[i], words[-i - 1]], "v": i * 0.5,
                    "ok": i % 3 == 0, "none": None} for i in range(30000)],
        "unicode": "h\u00e9llo w\u00f6rld \u2603 \U0001F600",
    }
    enc = json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False)
    back = json.loads(enc)
    print("json:", len(enc), back == doc, back["unicode"])
    enc2 = json.dumps(back, sort_keys=True, separators=(",", ":"))
    out.update(enc2.encode())
    print("digest:", out.hexdigest())


if __name__ == "__main__":
    main()
