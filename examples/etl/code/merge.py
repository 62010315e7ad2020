"""extract's reduce step: merge the workers' parts into records.txt.

Runs once, after every extract worker completed; WORLD_SIZE is the number
of parts to expect. A missing part is an error, never a silent gap.
"""

import os
import sys

day = sys.argv[1]
staged = os.path.join(os.environ["VCP_VOLUME_WORK"], "staged", day)
records = []
for rank in range(int(os.environ["WORLD_SIZE"])):
    part = os.path.join(staged, f"part-{rank}.txt")
    if not os.path.exists(part):
        sys.exit(f"part {rank} is missing")
    with open(part) as f:
        records.extend(line.rstrip("\n") for line in f if line.strip())

with open(os.path.join(staged, "records.txt"), "w") as f:
    f.writelines(r + "\n" for r in sorted(records))
print(f"merged {len(records)} records")
