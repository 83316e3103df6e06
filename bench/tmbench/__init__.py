"""tmbench: the side-by-side allocator benchmark runner (bench/compare.py).

Modules, one concern each:
  allocators  which malloc libraries to compare, and proof that each preload
              really takes effect
  workloads   the suite: commands, sizes for full and quick runs
  measure     one run through tm-spawn: times, peak RSS, faults, output hash
  startup     the exec cost of each library on /bin/true
  stats       medians, ranges, ratios, geometric means
  report      markdown tables and the targets check
  machine     what the results were measured on
  plot        optional PNG charts (matplotlib, if installed)
"""
