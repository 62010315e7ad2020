"""load: load the day's vectors into the warehouse.

Credentials come from a Secret (WAREHOUSE_PASSWORD) and the address from a
ConfigMap (WAREHOUSE_DSN). Under `vcp run` they come from your environment;
without them this example only counts what it would load.
"""

import os
import sys

day = sys.argv[1]
folder = os.path.join(os.environ["VCP_VOLUME_WORK"], "embedded")
vectors = [n for n in os.listdir(folder) if n.endswith(".vec")]
dsn = os.environ.get("WAREHOUSE_DSN")
if dsn and os.environ.get("WAREHOUSE_PASSWORD"):
    print(f"loading {len(vectors)} vectors for {day} into {dsn}")
else:
    print(f"no warehouse configured: would load {len(vectors)} vectors for {day}")
