#!/usr/bin/env python3
"""Per-request profile for bench/run.sh: callgrind_annotate of two runs of one binary (LOW and
HIGH requests), differenced and divided by the request count, so start-up cancels out; the 20
costliest functions, self and inclusive.

    cg_profile.py LOW.out HIGH.out N
"""
import re, subprocess, sys
low, high, n = sys.argv[1], sys.argv[2], float(sys.argv[3])
def costs(path, inclusive):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=" + inclusive, path],
                         capture_output=True, text=True).stdout
    d = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+(?:\S*?:)?(.*?) \[", line)
        if m:
            d[m.group(2)] = d.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return d
for kind, label in (("no", "self"), ("yes", "inclusive")):
    a, b = costs(low, kind), costs(high, kind)
    rows = sorted(((b.get(k, 0) - a.get(k, 0)) / n, k) for k in set(a) | set(b))[::-1]
    print(f"instructions per request, {label} cost:")
    for v, k in rows[:20]:
        print(f"{v:8.0f}  {k[:140]}")
    print()
