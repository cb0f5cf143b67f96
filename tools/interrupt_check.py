"""Interrupt a lab's longest cell the way the notebook's ■ button does, then run the rest.

Usage: python tools/interrupt_check.py NOTEBOOK.ipynb CELL_INDEX SECONDS [SECONDS ...]

For each delay, the notebook runs in a fresh kernel; cell CELL_INDEX gets SIGINT (the
kernel's interrupt) after that many seconds, and every later cell must still run without an
error. Prints what each cell after the interrupt said, and exits 1 if any raised.
"""

from __future__ import annotations

import sys
import threading
import time

import nbformat
from jupyter_client.manager import start_new_kernel


def run(path: str, target: int, delay: float) -> bool:
    nb = nbformat.read(path, as_version=4)
    km, kc = start_new_kernel(kernel_name="python3")
    ok = True
    try:
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            timer = None
            if i == target:
                timer = threading.Timer(delay, km.interrupt_kernel)
                timer.start()
            errors, texts = [], []

            def hook(msg, errors=errors, texts=texts):
                kind, content = msg["msg_type"], msg["content"]
                if kind == "error":
                    errors.append(f"{content['ename']}: {content['evalue']}")
                elif kind == "stream":
                    texts.append(content["text"])

            start = time.perf_counter()
            kc.execute_interactive(cell.source, timeout=900, output_hook=hook)
            if timer is not None:
                timer.cancel()
            if i >= target:
                said = " ".join("".join(texts).split())[-300:]
                print(f"  cell {i} ({time.perf_counter() - start:.1f} s): "
                      f"{'ERROR ' + '; '.join(errors) if errors else 'ok'} | {said}")
            if errors and i >= target:
                ok = False
            elif errors:
                print(f"  cell {i} failed before the interrupt: {errors}")
                return False
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return ok


def main(argv: list[str]) -> int:
    path, target, delays = argv[0], int(argv[1]), [float(a) for a in argv[2:]]
    results = []
    for delay in delays:
        print(f"{path}: interrupt cell {target} after {delay:g} s")
        results.append(run(path, target, delay))
    print("all runnable after the interrupt" if all(results) else "FAILED")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
