"""extract: turn this worker's CSV files into one record per row.

Runs once per worker; the files vcp assigned to this worker (balanced by
size) are listed, one per line, in $VCP_SHARD_FILE. Writes
$VCP_VOLUME_WORK/staged/<day>/part-<rank>.txt.
"""

import csv
import os
import sys

day = sys.argv[1]
rank = os.environ["RANK"]
out_dir = os.path.join(os.environ["VCP_VOLUME_WORK"], "staged", day)
os.makedirs(out_dir, exist_ok=True)

with open(os.environ["VCP_SHARD_FILE"]) as f:
    files = [line.rstrip("\n") for line in f if line.strip()]

records = []
for path in files:
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            records.append(f"{os.path.basename(path)}:{row['id']}")

part = os.path.join(out_dir, f"part-{rank}.txt")
with open(part + ".tmp", "w") as f:
    f.writelines(r + "\n" for r in records)
os.replace(part + ".tmp", part)
print(f"worker {rank}: {len(files)} files, {len(records)} records")
