"""PyTorch side of `gim bench --compare-pytorch`: times the reference implementation of the
method (scripts/reference/gim_reference.py, all GIM modifications at once, CPU, float32, the same
GGUF weights dequantised by gguf-py) on the exact token ids the Swift benchmark uses, and prints
JSON on stdout.

  python scripts/bench/bench_pytorch.py --model models/X.gguf --ids-file ids.json --runs 5 --threads 2

ids.json: {"8": [..8 ids..], "32": [...], ...}. Times: median and min of `runs` after one warm-up.
  forward      logits only (torch.no_grad)
  explain      forward + backward of the target logit to the embeddings (activation gradients
               only: weights do not require grad), GIM default knobs
  explain_param_grads  the same with parameter gradients on, as the gim-explain package runs
"""
import argparse, json, os, resource, statistics, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import torch  # noqa: E402
import gim_reference as G  # noqa: E402


def timed(fn, runs):
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": statistics.median(samples), "min_ms": min(samples)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids-file", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline", type=int, default=216)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    cfg, W = G.from_gguf(args.model)
    load_s = time.perf_counter() - t0
    settings = G.NAMED_SETTINGS["gim"]  # GIM defaults: freeze, T=2, q/k .25, v .5, gate/up .5
    ids_by_len = json.load(open(args.ids_file))

    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "load_s": load_s, "rows": {}}
    for n, ids in ids_by_len.items():
        ids_t = torch.as_tensor(ids, dtype=torch.long)

        def forward():
            with torch.no_grad():
                G.forward(cfg, W, W["token_embd"][ids_t], settings)

        def explain():
            G.explain(cfg, W, ids, settings, args.baseline)

        def explain_param_grads():
            Wg = {k: v.requires_grad_(True) for k, v in W.items()}
            e = Wg["token_embd"][ids_t].detach().clone().requires_grad_(True)
            logits = G.forward(cfg, Wg, e, settings)
            logits[-1, int(logits[-1].argmax())].backward()
            for v in Wg.values():
                v.grad = None
                v.requires_grad_(False)

        out["rows"][n] = {"forward": timed(forward, args.runs), "explain": timed(explain, args.runs),
                          "explain_param_grads": timed(explain_param_grads, max(3, args.runs // 2))}
        print(f"pytorch {n} tokens done", file=sys.stderr)
    # Linux reports ru_maxrss in KiB: the process's peak, reached at the longest prompt.
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
