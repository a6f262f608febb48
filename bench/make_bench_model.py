"""Write a benchmark-size random-weight Llama that shares the fixture model's tokenizer and chat template.

Usage: python bench/make_bench_model.py [--out DIR] [--hidden N] [--layers N] [--seed N] [--force]
       python bench/make_bench_model.py --measure [--budget-s S]

The fixture model (189k parameters) is so small that a server benchmark on it measures Python and
HTTP overhead. This model is big enough that the forward pass dominates, yet small enough that a full
benchmark run on a 2-core CPU (where MLX's Linux build multiplies matrices at a few GFLOPS) ends in
minutes. ``--measure`` picks the size: it times batched decoding for each candidate width and depth and
keeps the largest whose ``bench/compare.py`` run is predicted to fit ``--budget-s``; the measurement is
recorded in reports/benchmarks.json (``bench/model-size``) and summarised in the README ("Benchmarks").

Its weights are random, and the row of its output layer for EOS is zero, so the EOS logit is always 0
while the other 1,023 are random: it never ends an answer early, so every request generates exactly
``max_tokens``, which makes the work equal across the servers compared. ``mlx_lm.load(DIR)`` loads it
with no hub access.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

FIXTURE_DIR = REPO_ROOT / "server" / "fixture" / "model"
DEFAULT_OUT = REPO_ROOT / ".cache" / "bench-model"
# Copied verbatim, so prompts tokenize exactly as they do for the fixture model.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")
HEAD_DIM = 64
# Picked by `--measure` on the 2-core development machine (README, "Benchmarks").
DEFAULT_HIDDEN = 256
DEFAULT_LAYERS = 4
# Candidates for --measure, smallest first: each step costs about 3-4x the previous one.
CANDIDATES = ((128, 2), (256, 4), (384, 6), (512, 8))
# What one default `bench/compare.py` run generates: 2 servers x 2 modes x (64 + 128 clients) x 2 rounds
# x 32 tokens. Kept in step with compare.py's defaults.
COMPARE_TOKENS = 2 * 2 * (64 + 128) * 2 * 32
MEASURE_BATCH = 64
MEASURE_PROMPT = 32
MEASURE_STEPS = 8


def model_config(hidden: int, layers: int) -> dict[str, object]:
    """A Llama config.json of the given width and depth over the fixture model's vocabulary."""
    fixture = json.loads((FIXTURE_DIR / "config.json").read_text(encoding="utf-8"))
    heads = max(1, hidden // HEAD_DIM)
    return {
        "model_type": "llama",
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "intermediate_size": 4 * hidden,
        "num_attention_heads": heads,
        "num_key_value_heads": max(1, heads // 2),
        "rms_norm_eps": 1e-05,
        "vocab_size": fixture["vocab_size"],
        "rope_theta": 10000.0,
        # An output layer of its own, so its EOS row can be zero without touching the input embedding.
        "tie_word_embeddings": False,
        "max_position_embeddings": fixture["max_position_embeddings"],
        "eos_token_id": fixture["eos_token_id"],
        "torch_dtype": "float32",
    }


def build(hidden: int, layers: int, seed: int) -> tuple[Any, dict[str, Any]]:
    """The random model in memory (EOS row of the output layer zeroed) and its flat weights."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models import llama

    config = model_config(hidden, layers)
    mx.random.seed(seed)
    model = llama.Model(llama.ModelArgs.from_dict(config))
    eos = int(config["eos_token_id"])  # type: ignore[call-overload]
    keep = (mx.arange(int(config["vocab_size"])) != eos).astype(mx.float32)[:, None]  # type: ignore[call-overload]
    model.lm_head.weight = model.lm_head.weight * keep
    weights = dict(tree_flatten(model.parameters()))
    mx.eval(list(weights.values()))
    return model, weights


def write_model(out: Path, hidden: int, layers: int, seed: int) -> int:
    """Write config, random weights and the fixture tokenizer into ``out``; return the parameter count."""
    import mlx.core as mx

    _model, weights = build(hidden, layers, seed)
    out.mkdir(parents=True, exist_ok=True)
    mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
    (out / "config.json").write_text(json.dumps(model_config(hidden, layers), indent=2) + "\n", encoding="utf-8")
    for name in TOKENIZER_FILES:
        shutil.copyfile(FIXTURE_DIR / name, out / name)
    return sum(int(array.size) for array in weights.values())


def decode_tokens_per_s(model: Any, batch: int) -> float:
    """Greedy decoding tokens/s of ``batch`` sequences at once after a short prefill: model compute only."""
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    cache = make_prompt_cache(model)
    tokens = mx.random.randint(3, 1000, (batch, MEASURE_PROMPT))
    logits = model(tokens, cache=cache)
    mx.eval(logits)
    started = time.perf_counter()
    for _ in range(MEASURE_STEPS):
        logits = model(mx.argmax(logits[:, -1:, :], axis=-1), cache=cache)
        mx.eval(logits)
    return batch * MEASURE_STEPS / (time.perf_counter() - started)


def measure(budget_s: float, seed: int) -> dict[str, Any]:
    """Time each candidate; the chosen size is the largest whose compare run fits ``budget_s``."""
    rows: list[dict[str, Any]] = []
    for hidden, layers in CANDIDATES:
        model, weights = build(hidden, layers, seed)
        decode_tokens_per_s(model, 1)  # first-call costs (kernel setup) are not the model's
        single = decode_tokens_per_s(model, 1)
        batched = decode_tokens_per_s(model, MEASURE_BATCH)
        predicted = COMPARE_TOKENS / batched
        row = {"hidden": hidden, "layers": layers, "parameters": sum(int(w.size) for w in weights.values()),
               "decode_tokens_per_s_batch1": round(single, 1),
               f"decode_tokens_per_s_batch{MEASURE_BATCH}": round(batched, 1),
               "predicted_compare_run_s": round(predicted, 1)}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        if predicted > budget_s:
            break  # every larger candidate is slower still
    fitting = [row for row in rows if row["predicted_compare_run_s"] <= budget_s]
    chosen = fitting[-1] if fitting else rows[0]
    return {"candidates": rows, "chosen": {"hidden": chosen["hidden"], "layers": chosen["layers"]},
            "budget_s": budget_s, "compare_tokens": COMPARE_TOKENS,
            "why": (f"largest candidate whose default bench/compare.py run ({COMPARE_TOKENS:,} generated tokens "
                    f"at batch {MEASURE_BATCH}) is predicted to take at most {budget_s:.0f}s of model compute")}


def main(argv: list[str] | None = None) -> int:
    """Write (or measure) the model; exit 2 on bad arguments or when the folder holds something else."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--hidden", type=int, default=DEFAULT_HIDDEN, help="model width (a multiple of 64)")
    parser.add_argument("--layers", type=int, default=DEFAULT_LAYERS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="overwrite an existing model in --out")
    parser.add_argument("--measure", action="store_true", help="time the candidate sizes and record the pick")
    parser.add_argument("--budget-s", type=float, default=300.0, help="--measure: compare-run budget (seconds)")
    args = parser.parse_args(argv)
    if args.hidden < HEAD_DIM or args.hidden % HEAD_DIM or args.layers < 1 or args.budget_s <= 0:
        print(f"make_bench_model: --hidden must be a positive multiple of {HEAD_DIM}, --layers >= 1 and "
              "--budget-s > 0", file=sys.stderr)
        return 2
    if args.measure:
        from suites.benchmarks.record import record

        result = measure(args.budget_s, args.seed)
        record("bench/model-size", result,
               command=" ".join(["python", "bench/make_bench_model.py", *(argv if argv is not None else sys.argv[1:])]))
        print(json.dumps(result["chosen"]), result["why"])
        return 0
    out = args.out.resolve()
    if out.exists() and any(out.iterdir()) and not args.force:
        if (out / "config.json").is_file() and json.loads((out / "config.json").read_text()) == model_config(
            args.hidden, args.layers
        ):
            print(f"bench model already in {out}")
            return 0
        print(f"make_bench_model: {out} holds another model (use --force to overwrite)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    params = write_model(out, args.hidden, args.layers, args.seed)
    size_mb = (out / "model.safetensors").stat().st_size / 1e6
    print(f"wrote {out}: {params:,} parameters, {size_mb:.1f} MB, in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
