"""Output comparison: every run's stdout against the reference allocator's
(glibc when it runs). Any difference is a FAILURE of that cell. The
reference's own runs must agree with each other too, or the workload is
not deterministic and every cell of it fails.

Matching outputs are deleted afterwards (xz's are megabytes each); the
reference and any mismatching output stay under raw/ for inspection."""
import os


def reference_sha(runs, ref):
    shas = {r.out_sha for r in runs if r.alloc == ref and r.ok}
    if len(shas) == 1:
        return shas.pop(), ""
    if not shas:
        return None, "reference %s has no successful run" % ref
    return None, "reference %s gave different outputs across runs" % ref


def compare(runs_by_workload, ref):
    """{(workload, alloc): failure text} for outputs that do not match."""
    bad = {}
    for w, runs in runs_by_workload.items():
        sha, why = reference_sha(runs, ref)
        for r in runs:
            if not r.ok:
                continue
            if sha is None:
                bad[(w, r.alloc)] = why
            elif r.out_sha != sha:
                bad[(w, r.alloc)] = ("stdout differs from %s (run %d: %s)"
                                     % (ref, r.index, r.out_file))
    return bad


def prune(runs_by_workload, ref, bad):
    for w, runs in runs_by_workload.items():
        kept_ref = False
        for r in runs:
            keep = (w, r.alloc) in bad or not r.ok
            if r.alloc == ref and not kept_ref:
                keep = kept_ref = True
            if not keep and os.path.exists(r.out_file):
                os.remove(r.out_file)
