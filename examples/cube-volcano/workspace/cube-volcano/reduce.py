"""The reduce step of the cube-volcano example.

It runs once, after every worker completed, with WORLD_SIZE set to the
number of workers. It checks that each item was done exactly once, by the
worker the modulo rule gave it to, and writes the sum of the squares.
"""

import os
import sys

results = os.environ["VCP_VOLUME_RESULTS"]
world_size = int(os.environ["WORLD_SIZE"])
seen = {}
total = 0
for rank in range(world_size):
    folder = os.path.join(results, f"worker-{rank}")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".txt"):
            continue
        item = int(name[: -len(".txt")])
        if item in seen:
            sys.exit(f"item {item} was done by workers {seen[item]} and {rank}")
        if item % world_size != rank:
            sys.exit(f"item {item} was done by worker {rank}, not {item % world_size}")
        seen[item] = rank
        with open(os.path.join(folder, name)) as f:
            total += int(f.read())

missing = sorted(set(range(300)) - set(seen))
if missing:
    sys.exit(f"{len(missing)} items have no result, first {missing[:5]}")
with open(os.path.join(results, "sum.txt"), "w") as f:
    f.write(f"{total}\n")
print(f"{len(seen)} items from {world_size} workers, sum of squares {total}")
