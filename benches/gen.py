#!/usr/bin/env python3
"""Writes the benchmark pipeline with N stages to stdout (no network, no deps).

Stage i: 2 + (7i mod 15) workers, cpu 1 + (i mod 4), memory 4Gi, one GPU on
every third stage, image registry.example.com/bench/stage-(i mod 5):1.0,
2 x workers input URIs sharded `block` across the workers, 3 retries, and it
runs after stage (i-1)/2 (a binary tree). The shared settings come from one
template, as a real pipeline file would have them.

    python3 benches/gen.py 1000 > bench-1000.vcp
    python3 benches/gen.py 1000 --broken > broken-1000.vcp   # one bad stage at the end
"""

import sys


def main() -> None:
    n = int(sys.argv[1])
    broken = "--broken" in sys.argv[2:]
    out = [
        f"# Benchmark pipeline: {n} stages (benches/gen.py).",
        "",
        "template bench-step {",
        '  retry = 3',
        '  resources { memory = "4Gi" }',
        '  env { LOG_LEVEL = "info", OUTPUT = "s3://bench/out" }',
        "}",
        "",
        "pipeline bench {",
        '  namespace = "bench"',
        '  queue     = "batch"',
        "",
    ]
    for i in range(n):
        workers = 2 + (7 * i) % 15
        uris = ", ".join(f'"s3://bench/in/{i}/part-{k:03d}"' for k in range(2 * workers))
        out.append(f"  stage s{i} {{")
        out.append("    use     = bench-step")
        out.append(f'    image   = "registry.example.com/bench/stage-{i % 5}:1.0"')
        out.append(f"    workers = {workers}")
        out.append(f"    shard   = [{uris}] by block")
        out.append('    run     = "python3 /app/step.py --input {item}"')
        gpu = ", gpu = 1" if i % 3 == 0 else ""
        out.append(f'    resources {{ cpu = "{1 + i % 4}"{gpu} }}')
        if i > 0:
            out.append(f"    after   = [s{(i - 1) // 2}]")
        if broken and i == n - 1:
            out.append("    wokers  = 3")
        out.append("  }")
    out.append("}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
