"""Side-by-side comparison under ../shared/BENCHMARK.md.

This project vs LightFM, implicit and popularity:

    python benchmarks/compare.py --dataset ml-100k
    python benchmarks/compare.py --dataset ml-1m-all --json results-ml-1m.json
    python benchmarks/compare.py --dataset ml-100k --models tensorrec --check-identical
    python benchmarks/compare.py --dataset ml-100k --models lightfm-warp,implicit-als,tensorrec \\
        --tensorrec-variant 'bpr={"loss": "bpr"}'
    python benchmarks/compare.py --dataset ml-100k --models lightfm-warp,implicit-als \
        --variant 'implicit-als[reg10]={"regularization": 10}'

One invocation runs every model in its own subprocess (benchmarks/_run_one.py), one after the
other, all with the same thread count, and reports each figure as a ratio against LightFM-WARP and
implicit-ALS from this same run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import _protocol
from _threads import thread_env
import contextlib

PEERS = [
    "popularity",
    "lightfm-warp",
    "lightfm-bpr",
    "lightfm-logistic",
    "implicit-als",
    "implicit-bpr",
    "ease",
]
DEFAULT_MODELS = [*PEERS, "tensorrec"]
REFERENCES = ("lightfm-warp", "implicit-als")
RATIO_FIELDS = {
    "ndcg@10": lambda r: r["metrics"]["ndcg@10"],
    "precision@10": lambda r: r["metrics"]["precision@10"],
    "recall@10": lambda r: r["metrics"]["recall@10"],
    "auc": lambda r: r["metrics"]["auc"],
    "coverage@10": lambda r: r["metrics"]["coverage@10"],
    "fit_seconds": lambda r: r["fit_seconds"],
    "scoring_seconds": lambda r: r["scoring_seconds"],
    "fit_cpu_seconds": lambda r: r.get("fit_cpu_seconds"),
    "peak_mb": lambda r: r["peak_mb"],
}


# --------------------------------------------------------------------------- environment
def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def versions() -> dict:
    out = {}
    for dist in (
        "tensorrec_explore",
        "tensorflow",
        "keras",
        "numpy",
        "scipy",
        "lightfm",
        "implicit",
        "threadpoolctl",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    try:
        out["git_commit"] = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # the checkout is shared: say which package files differed from that commit
        out["package_files_modified"] = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "tensorrec_explore"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")[:-1]
    except (OSError, subprocess.CalledProcessError):
        out["git_commit"] = None
    return out


# --------------------------------------------------------------------------- running
def run_model(model: str, args, params: dict | None = None) -> dict:
    """One model in its own subprocess; returns its JSON, or an error record."""
    env = thread_env(args.threads, os.environ, REPO)
    cmd = [
        sys.executable,
        str(HERE / "_run_one.py"),
        model,
        "--dataset",
        args.dataset,
        "--data-dir",
        str(args.data_dir),
        "--seed",
        str(args.seed),
        "--threads",
        str(args.threads),
    ]
    if args.tensorflow_intra_op_threads is not None:  # only TensorFlow reads it
        cmd += ["--tensorflow-intra-op-threads", str(args.tensorflow_intra_op_threads)]
    if args.split_file:
        cmd += ["--split", str(args.split_file)]
    if params:
        cmd += ["--params", json.dumps(params)]
    if args.check_identical and model.startswith("tensorrec"):
        cmd.append("--check-identical")
    if args.profile_dir:
        Path(args.profile_dir).mkdir(parents=True, exist_ok=True)
        safe = model.replace("[", "_").replace("]", "")
        cmd += ["--profile", str(Path(args.profile_dir) / f"{args.dataset}-{safe}.prof")]
    with tempfile.TemporaryFile(mode="w+") as err:
        try:
            proc = subprocess.run(
                cmd,
                check=False,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=env,
                timeout=args.timeout,
                preexec_fn=_priority(args.nice),
            )
        except subprocess.TimeoutExpired:
            return {"model": model, "error": f"timed out after {args.timeout} s"}
        err.seek(0)
        log = err.read()
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = "\n".join(log.strip().splitlines()[-6:])
        return {"model": model, "error": f"exit code {proc.returncode}: {tail}"}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["model"] = model
    return result


def median_of(runs: list[dict]) -> dict:
    """One record per model: the median of every figure over the repeats (all runs kept)."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    import statistics

    out = json.loads(json.dumps(ok[0]))
    for key in (
        "fit_seconds",
        "scoring_seconds",
        "fit_cpu_seconds",
        "scoring_cpu_seconds",
        "peak_mb",
        "peak_mb_with_evaluation",
    ):
        out[key] = statistics.median(r[key] for r in ok)
    for key in out["metrics"]:
        out["metrics"][key] = statistics.median(r["metrics"][key] for r in ok)
    if len(runs) > 1:
        out["runs"] = runs
    return out


def _priority(nice: int | None):
    """preexec_fn giving the model's process this nice value (negative values need root).

    With the kernel's autogroup scheduling (Linux's default), CPU is first shared between
    sessions and nice only orders processes within one; so the model process starts its own
    session and sets that session's autogroup nice as well.
    """
    if nice is None:
        return None

    def apply() -> None:
        os.setsid()
        with contextlib.suppress(OSError):
            Path("/proc/self/autogroup").write_text(str(nice))
        os.setpriority(os.PRIO_PROCESS, 0, nice)

    return apply


def add_ratios(results: list[dict]) -> None:
    refs = {r["model"]: r for r in results if r["model"] in REFERENCES and "error" not in r}
    for r in results:
        if "error" in r:
            continue
        r["ratios"] = {}
        for ref_name, ref in refs.items():
            r["ratios"][f"vs_{ref_name}"] = {
                field: (round(get(r) / get(ref), 4) if get(ref) and get(r) is not None else None)
                for field, get in RATIO_FIELDS.items()
            }


# --------------------------------------------------------------------------- reporting
def _f(x, nd=3):
    return "—" if x is None else f"{x:.{nd}f}"


def markdown_tables(results: list[dict]) -> str:
    head = (
        "| model | P@10 | R@10 | NDCG@10 | AUC | cov@10 | fit s | fit CPU s | score s | "
        "peak MB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = [head]
    for r in results:
        if "error" in r:
            rows.append(
                f"| {r['model']} | error: {r['error'].splitlines()[-1][:80]} | | | | | | | | |"
            )
            continue
        m = r["metrics"]
        rows.append(
            f"| {r['model']} | {_f(m['precision@10'])} | {_f(m['recall@10'])} | "
            f"{_f(m['ndcg@10'])} | {_f(m['auc'])} | {_f(m['coverage@10'])} | "
            f"{_f(r['fit_seconds'], 2)} | {_f(r.get('fit_cpu_seconds'), 2)} | "
            f"{_f(r['scoring_seconds'], 3)} | {_f(r['peak_mb'], 0)} |"
        )
    ratio_head = (
        "| model | NDCG / WARP | NDCG / ALS | fit / WARP | fit / ALS | score / WARP | "
        "score / ALS | peak / WARP | peak / ALS |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    ratio_rows = [ratio_head]
    for r in results:
        if "error" in r:
            continue
        w = r["ratios"].get("vs_lightfm-warp", {})
        a = r["ratios"].get("vs_implicit-als", {})
        ratio_rows.append(
            f"| {r['model']} | {_f(w.get('ndcg@10'), 2)} | {_f(a.get('ndcg@10'), 2)} | "
            f"{_f(w.get('fit_seconds'), 2)} | {_f(a.get('fit_seconds'), 2)} | "
            f"{_f(w.get('scoring_seconds'), 2)} | {_f(a.get('scoring_seconds'), 2)} | "
            f"{_f(w.get('peak_mb'), 2)} | {_f(a.get('peak_mb'), 2)} |"
        )
    return "\n".join(rows) + "\n\nRatios (same run):\n\n" + "\n".join(ratio_rows)


def targets(results: list[dict], dataset: str) -> list[dict]:
    """Issue #6's targets for every tensorrec run (default settings are the ones that count)."""
    out = []
    for r in results:
        if not r["model"].startswith("tensorrec") or "error" in r:
            continue
        w = r["ratios"].get("vs_lightfm-warp", {})
        a = r["ratios"].get("vs_implicit-als", {})
        checks = [
            ("NDCG@10 >= 1.0x implicit-ALS", a.get("ndcg@10"), lambda x: x >= 1.0),
            ("fit time <= 1.0x LightFM-WARP", w.get("fit_seconds"), lambda x: x <= 1.0),
            (
                "top-10 scoring <= 0.5x LightFM predict+top-10",
                w.get("scoring_seconds"),
                lambda x: x <= 0.5,
            ),
        ]
        if dataset == "ml-1m-all":
            checks.append(("peak memory < 2 GB (MB)", r["peak_mb"], lambda x: x < 2048))
        for name, value, ok in checks:
            out.append(
                {
                    "model": r["model"],
                    "target": name,
                    "value": value,
                    "met": None if value is None else bool(ok(value)),
                }
            )
        if "check_identical" in r.get("extra", {}):
            out.append(
                {
                    "model": r["model"],
                    "target": "recommend == ranking predict()",
                    "value": r["extra"].get("top10_rows_identical_to_scores"),
                    "met": r["extra"]["check_identical"],
                }
            )
    return out


# --------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="ml-100k", choices=_protocol.DATASETS)
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding ml-100k/ and ml-1m/ (default: $TENSORREC_EXPLORE_DATA "
        "or ../shared/data next to the repository)",
    )
    p.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help=f"comma separated, in run order (default: {','.join(DEFAULT_MODELS)}); "
        "'peers' expands to every peer",
    )
    p.add_argument(
        "--tensorrec-variant",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="extra TensorRec run 'tensorrec[NAME]' with these constructor arguments "
        "on top of random_state=SEED (everything else at the package's defaults); repeatable",
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="MODEL[NAME]=JSON",
        help="extra run of any model with constructor arguments overriding its "
        "reference configuration (reported apart from the reference); repeatable",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None, help="write the full results here")
    p.add_argument(
        "--check-identical",
        action="store_true",
        help="tensorrec: verify recommend()'s top-10 equals ranking predict()'s scores",
    )
    p.add_argument(
        "--profile-dir",
        type=Path,
        default=None,
        help="write a cProfile (.prof) of every fit call into this folder",
    )
    p.add_argument("--timeout", type=float, default=3600, help="seconds per model")
    p.add_argument(
        "--nice",
        type=int,
        default=None,
        help="scheduling priority of the model processes, e.g. -5 on a machine shared "
        "with other jobs (negative values need root); recorded in the JSON",
    )
    p.add_argument(
        "--tensorflow-intra-op-threads",
        type=int,
        default=None,
        help="TensorFlow's intra-op pool in every model process (default: --threads; the "
        "inter-op pool keeps --threads); recorded in the JSON",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run the whole model sequence this many times (interleaved) and report "
        "the median of every figure; use >1 on a busy machine",
    )
    args = p.parse_args(argv)
    args.data_dir = (args.data_dir or _protocol.default_data_dir()).resolve()
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    runs: list[tuple[str, dict | None]] = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        if name == "peers":
            runs += [(p, None) for p in PEERS]
        else:
            runs.append((name, None))
    for spec in args.tensorrec_variant:
        name, _, params = spec.partition("=")
        runs.append((f"tensorrec[{name.strip()}]", json.loads(params or "{}")))
    for spec in args.variant:
        name, _, params = spec.partition("=")
        if "[" not in name or name.split("[", 1)[0] not in DEFAULT_MODELS:
            raise SystemExit(
                f"--variant {spec!r}: expected MODEL[NAME]=JSON with MODEL one of "
                f"{DEFAULT_MODELS}, e.g. 'implicit-als[reg10]={{\"regularization\": 10}}'"
            )
        runs.append((name.strip(), json.loads(params or "{}")))

    started = _dt.datetime.now(_dt.timezone.utc)
    load_at_start = machine_info()["loadavg"]
    # Load and split once here; every model process reads the same split from a small .npz.
    positives, loaded_by = _protocol.load_positives(args.dataset, args.data_dir)
    train, test, split_by = _protocol.split(positives, seed=args.seed)
    tmp = tempfile.TemporaryDirectory(prefix="tensorrec-bench-")
    args.split_file = Path(tmp.name) / f"{args.dataset}-seed{args.seed}.npz"
    _protocol.save_split(args.split_file, train, test, loaded_by, split_by)
    del positives, train, test
    raw: dict[str, list[dict]] = {model: [] for model, _ in runs}
    for rep in range(args.repeats):
        for model, params in runs:
            print(
                f"[compare] {args.dataset}: {model} (run {rep + 1}/{args.repeats}) ...",
                file=sys.stderr,
                flush=True,
            )
            r = run_model(model, args, params)
            r["loadavg_1min_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            if "error" in r:
                print(f"[compare]   FAILED: {r['error']}", file=sys.stderr, flush=True)
            else:
                print(
                    f"[compare]   ndcg@10={r['metrics']['ndcg@10']:.4f} "
                    f"fit={r['fit_seconds']:.2f}s score={r['scoring_seconds']:.3f}s "
                    f"peak={r['peak_mb']:.0f}MB",
                    file=sys.stderr,
                    flush=True,
                )
            raw[model].append(r)
    tmp.cleanup()
    results = [median_of(raw[model]) for model, _ in runs]
    add_ratios(results)

    machine = machine_info()
    machine["loadavg_at_start"] = load_at_start
    vers = versions()
    header = (
        f"## {args.dataset} — {started:%Y-%m-%d %H:%M} UTC, {machine['cpu']} "
        f"({machine['cores']} cores), threads={args.threads}, seed={args.seed}, "
        f"median of {args.repeats} run(s), 1-min load at start "
        f"{(load_at_start or [float('nan')])[0]:.1f}"
        + (f", nice {args.nice}" if args.nice is not None else "")
        + (
            f", TensorFlow intra-op threads {args.tensorflow_intra_op_threads}"
            if args.tensorflow_intra_op_threads is not None
            else ""
        )
    )
    table = markdown_tables(results)
    tgt = targets(results, args.dataset)
    print(header + "\n\n" + table)
    if tgt:
        print("\nTargets (issue #6):\n")
        for t in tgt:
            mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
            print(f"- {t['model']}: {t['target']}: {t['value']} -> {mark}")
    if args.json:
        doc = {
            "date": started.isoformat(timespec="seconds"),
            "dataset": args.dataset,
            "protocol": "../shared/BENCHMARK.md",
            "seed": args.seed,
            "threads": args.threads,
            "nice": args.nice,
            "tensorflow_intra_op_threads": args.tensorflow_intra_op_threads,
            "repeats": args.repeats,
            "machine": machine,
            "versions": vers,
            "command": " ".join(sys.argv),
            "results": results,
            "targets": tgt,
            "markdown": header + "\n\n" + table,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2))
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
