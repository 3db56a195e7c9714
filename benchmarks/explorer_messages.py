"""What one training push sends to the browser: widget messages counted in the kernel.

    python benchmarks/explorer_messages.py [--dataset synthetic|movielens-100k] [--seconds 10]

The explorer is built without a kernel (no browser needed) and driven as
``explorer_latency.py``'s Reset row drives it: a 3-epoch run (its PCA frames computed), then a
new long run for ``--seconds``. Every widget message the kernel would send is counted (by widget
class and the traits it carries), and plotly's front end is played by a thread that answers
each figure update as a page does once it has drawn it (so the explorer's pace applies). The
counts are divided by the run's pushes (``state.history`` changes). Printed as a table; nothing
is written to disk.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "explorer"))

from explorer_support import counted_messages  # the widget tests' own counter

#: Seconds the fake front end takes to "draw" a figure update before answering it.
DRAW_SECONDS = 0.05


class FakeFrontEnd:
    """Answers each update of ``figures`` as plotly's front end does once it has drawn it
    (``_js2py_traceDeltas`` with the update's edit id, ``DRAW_SECONDS`` later), through the
    explorer's dispatcher (the one writer of its widgets)."""

    def __init__(self, explorer: Any, figures: list[Any]):
        self.explorer = explorer
        self.figures = figures
        self._stop = threading.Event()
        self._answered = {id(f): 0 for f in figures}
        for figure in figures:
            figure._view_count = 1
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(DRAW_SECONDS):
            for figure in self.figures:
                edit = figure._last_trace_edit_id
                if edit > self._answered[id(figure)]:
                    self._answered[id(figure)] = edit
                    answer = {"trace_deltas": [], "trace_edit_id": edit}
                    self.explorer.dispatcher.call(figure.set_state, {"_js2py_traceDeltas": answer})

    def close(self) -> None:
        self._stop.set()
        self.thread.join()


def measure(dataset_name: str, data_dir: str | None, seconds: float) -> dict[str, Any]:
    """Train as the latency benchmark does; return the pushes and the messages counted."""
    from tensorrec_explore.app.datasets import load_dataset
    from tensorrec_explore.explorer import Explorer

    explorer = Explorer(load_dataset(dataset_name, data_dir), warm_umap=False, loop=None)
    try:
        p = explorer.panels
        figures = [p.curves.loss_figure, p.curves.val_figure, p.embeddings.figure]
        front = FakeFrontEnd(explorer, figures)
        explorer.state.epochs = 3
        explorer.train(wait=True)
        explorer.projector.wait_idle(120)
        pushes = []
        explorer.state.observe(lambda change: pushes.append(1), names="history")
        explorer.state.epochs = 500
        with counted_messages() as counts:
            explorer.controller.train()
            time.sleep(seconds)
            explorer.controller.stop()
            explorer.controller.join(120)
            explorer.projector.wait_idle(120)
        front.close()
        return {"pushes": len(pushes), "epochs": explorer.state.epoch, "counts": counts}
    finally:
        explorer.close()


def report(result: dict[str, Any]) -> str:
    """A Markdown table of the messages per push, most frequent first."""
    pushes = max(result["pushes"], 1)
    counts = result["counts"]
    lines = [
        f"{result['pushes']} pushes, {result['epochs']} epochs, "
        f"{sum(counts.values())} messages ({sum(counts.values()) / pushes:.1f} per push)",
        "",
        "| widget | traits | messages | per push |",
        "|---|---|---:|---:|",
    ]
    for (widget, traits), n in counts.most_common():
        lines.append(f"| {widget} | {traits} | {n} | {n / pushes:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--data-dir", default=os.environ.get("TENSORREC_EXPLORE_DATA"))
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    print(f"1-minute load {os.getloadavg()[0]:.1f}")
    print(report(measure(args.dataset, args.data_dir, args.seconds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
