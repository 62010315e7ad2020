"""Stage `list`: the partitions of one day of the events data set.

Reads the data set's manifest and writes one partition per line to
$VCP_OUTPUT; the `process` stage shards these lines (`output(list)`).
"""

import os
import sys

lake, day = sys.argv[1], sys.argv[2]
with open(os.path.join(lake, "events", "_manifest.csv")) as manifest, open(
    os.environ["VCP_OUTPUT"], "w"
) as out:
    for line in manifest:
        if line.startswith("#") or not line.strip():
            continue
        partition = line.split(",", 1)[0]
        if partition.startswith(f"day={day}/"):
            out.write(partition + "\n")
