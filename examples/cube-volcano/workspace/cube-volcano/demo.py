"""One work item of the cube-volcano example: square a number.

vcp runs this once per item of the worker's shard (the item is argv[1]),
ten at a time. It writes one result file per item into the results volume,
in a folder per worker, so that the reduce step can check who did what.
"""

import os
import sys

item = int(sys.argv[1])
rank = os.environ["RANK"]
out_dir = os.path.join(os.environ["VCP_VOLUME_RESULTS"], f"worker-{rank}")
os.makedirs(out_dir, exist_ok=True)

# Write to a temporary name and rename: a retried item never leaves half a file.
path = os.path.join(out_dir, f"{item}.txt")
with open(path + ".tmp", "w") as f:
    f.write(f"{item * item}\n")
os.replace(path + ".tmp", path)
print(f"item {item}: {item * item}")
