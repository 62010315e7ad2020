"""embed: compute a (stand-in) embedding vector for one record.

Runs once per item; the item is a record id such as `orders.csv:7`. A real
pipeline would run a model on the GPU here; this one hashes the id into a
small vector so that the example runs anywhere.
"""

import hashlib
import os
import sys

record = sys.argv[1]
digest = hashlib.sha256(record.encode()).digest()
vector = [round(b / 255, 3) for b in digest[:8]]

out_dir = os.path.join(os.environ["VCP_VOLUME_WORK"], "embedded")
os.makedirs(out_dir, exist_ok=True)
name = record.replace("/", "_").replace(":", "_")
with open(os.path.join(out_dir, name + ".vec"), "w") as f:
    f.write(" ".join(map(str, vector)) + "\n")
