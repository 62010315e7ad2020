"""Reduce of `process`: one report over every partition.

Sums the summaries the workers wrote, and lists the partitions that failed
within the stage's failure budget ($VCP_FAILED_ITEMS: `status<TAB>item`).
"""

import json
import os

work = os.environ["VCP_VOLUME_WORK"]
summaries = os.path.join(work, "summaries")
done = [json.load(open(os.path.join(summaries, n))) for n in sorted(os.listdir(summaries))]
with open(os.environ["VCP_FAILED_ITEMS"]) as f:
    failed = [line.rstrip("\n").split("\t", 1) for line in f if line.strip()]

lines = [
    f"partitions processed: {len(done)}",
    f"rows: {sum(d['rows'] for d in done)}",
    f"partitions failed: {len(failed)}",
]
lines += [f"  {item} (exit status {status})" for status, item in failed]
report = "\n".join(lines) + "\n"
with open(os.path.join(work, "report.txt"), "w") as f:
    f.write(report)
print(report, end="")
