"""Sum 1..N across the workers of a stage, then all-reduce over TCP.

Each worker sums its contiguous share of 1..N. Rank 0 listens on
$VCP_MASTER_ADDR:$MASTER_PORT, collects every other worker's partial sum,
and sends the total back; every worker checks it against N(N+1)/2.
This is the rendezvous torch.distributed and MPI perform, in plain Python.
"""

import os
import socket
import sys
import time

n = int(sys.argv[1])
rank = int(os.environ["RANK"])
world = int(os.environ["WORLD_SIZE"])
hosts = os.environ["VCP_WORKER_HOSTS"].split(",")
master = os.environ["VCP_MASTER_ADDR"]
port = int(os.environ["MASTER_PORT"])
assert len(hosts) == world, f"{len(hosts)} hosts for {world} workers"

lo = rank * n // world + 1
hi = (rank + 1) * n // world
partial = sum(range(lo, hi + 1))
print(f"rank {rank} of {world} on {hosts[rank]}: sum({lo}..{hi}) = {partial}", flush=True)

if rank == 0:
    server = socket.create_server(("", port), reuse_port=False)
    server.settimeout(300)
    total = partial
    peers = []
    for _ in range(world - 1):
        conn, _ = server.accept()
        total += int(conn.makefile().readline())
        peers.append(conn)
    for conn in peers:
        conn.sendall(f"{total}\n".encode())
        conn.close()
    server.close()
else:
    deadline = time.time() + 300
    while True:
        try:
            conn = socket.create_connection((master, port), timeout=10)
            break
        except OSError:
            if time.time() > deadline:
                sys.exit(f"rank {rank}: cannot reach rank 0 at {master}:{port}")
            time.sleep(0.2)
    conn.sendall(f"{partial}\n".encode())
    total = int(conn.makefile().readline())
    conn.close()

expected = n * (n + 1) // 2
if total != expected:
    sys.exit(f"rank {rank}: total {total}, expected {expected}")
print(f"rank {rank}: all-reduced total {total}")
