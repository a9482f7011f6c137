"""One-shot PyTorch explain, the cold counterpart of `gim explain --token-ids ...` for timing
whole processes (interpreter start, torch import, GGUF load through gguf-py, one GIM explain):

  python scripts/bench/explain_pytorch.py --model models/X.gguf --ids-file ids.json [--threads 2]

ids.json: a JSON list of token ids. Uses the reference implementation of the method
(scripts/reference/gim_reference.py, float32, CPU, GIM default knobs, activation gradients only),
as `gim bench --compare-pytorch` does. Prints the target token and the attribution sum.
"""
import argparse, json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import torch  # noqa: E402
import gim_reference as G  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids-file", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline", type=int, default=216)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ids = json.load(open(args.ids_file))
    cfg, W = G.from_gguf(args.model)
    r = G.explain(cfg, W, ids, G.NAMED_SETTINGS["gim"], args.baseline)
    print(f"target {r['target_token_id']} sum {float(r['attributions'].sum()):.4f} over {len(ids)} tokens")


if __name__ == "__main__":
    main()
