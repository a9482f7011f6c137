#!/usr/bin/env python3
"""Markdown tables from `gim bench --json` output (one object per line, as `gim bench` prints
for several models), for docs/benchmarks.md.

    gim bench --models-dir models/bench --json > bench.jsonl
    python3 scripts/bench/bench_table.py bench.jsonl
"""
import json
import sys


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    print("| model | file GB | weights | load s | peak RSS MB (8 / 32 / 128 tok) | sgemm GFLOP/s | memcpy GB/s |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for r in runs:
        rss = " / ".join(f"{row.get('peak_rss_mb', 0):.0f}" for row in r["rows"])
        fb = r.get("file_bytes")
        print(f"| {r['model']} | {fb / 1e9:.2f} | {r.get('weights', '')} | {r['load_ms'] / 1000:.2f} | {rss} "
              f"| {r['sgemm_gflops']:.0f} | {r.get('memory_gbps', 0):.1f} |" if fb else
              f"| {r['model']} | | {r.get('weights', '')} | {r['load_ms'] / 1000:.2f} | {rss} "
              f"| {r['sgemm_gflops']:.0f} | {r.get('memory_gbps', 0):.1f} |")
    print()
    print("| model | tokens | forward ms | GIM backward ms | knob change ms | explain ms "
          "| explain GFLOP/s (% sgemm) | explain weight GB/s (% memcpy) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        for row in r["rows"]:
            e = row["explain"]
            gf, gb = e.get("gflops") or 0, e.get("gbps")
            gbs = f"{gb:.2f} ({100 * gb / r['memory_gbps']:.0f}%)" if gb is not None and r.get("memory_gbps") else ""
            print(f"| {r['model']} | {row['tokens']} | {row['forward']['median_ms']:.0f} "
                  f"| {row['backward_gim']['median_ms']:.0f} | {row['knob_change']['median_ms']:.0f} "
                  f"| {e['median_ms']:.0f} | {gf:.1f} ({100 * gf / r['sgemm_gflops']:.0f}%) | {gbs} |")


if __name__ == "__main__":
    main()
