"""Stage `process`: one partition (argv[1]) of the events data set.

Looks the partition up in the manifest, refuses a corrupt one (exit 3:
the stage's failure budget lets a few fail), and writes a small summary
to the work volume, under a temporary name first so that a retried or
interrupted partition never leaves half a file.
"""

import json
import os
import sys

partition = sys.argv[1]
lake = os.environ["VCP_VOLUME_LAKE"]
work = os.environ["VCP_VOLUME_WORK"]

rows, state = None, None
with open(os.path.join(lake, "events", "_manifest.csv")) as manifest:
    for line in manifest:
        fields = line.rstrip("\n").split(",")
        if fields[0] == partition:
            rows, state = int(fields[1]), fields[2]
if rows is None:
    sys.exit(f"{partition}: not in the manifest")
if state != "ok":
    print(f"{partition}: the partition is {state}; skipping it", file=sys.stderr)
    sys.exit(3)

out_dir = os.path.join(work, "summaries")
os.makedirs(out_dir, exist_ok=True)
path = os.path.join(out_dir, partition.replace("/", "_") + ".json")
with open(path + ".tmp", "w") as f:
    json.dump({"partition": partition, "rows": rows, "worker": os.environ["RANK"]}, f)
os.replace(path + ".tmp", path)
