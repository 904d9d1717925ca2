"""Worst-case time of :func:`cvrisk.units.parse_unit` over hostile and ordinary unit texts.

Run from the repository root:

    PYTHONPATH=. python bench/unit_parse_bench.py [--repeat 5] [--fuzz 20000] [--timeout 10]

Every text is parsed with cold caches (the caches of parsed units are cleared before each
parse, so the time is the parser's, not the cache's; the unit data files stay loaded). Each
hostile text is first tried in a child process with a ``--timeout`` (an unbounded parser
would hang the benchmark: pint's exponent arithmetic on ``10**10**10**10``); texts that
finish are then timed in process,
best of ``--repeat``. The worst case over all texts, and over ``--fuzz`` random texts drawn
from the characters unit grammars use, is printed with the text that produced it (random
texts are timed once each; the 20 slowest are then re-timed best of ``--repeat``, so one
scheduling hiccup on a busy machine is not reported as the parser's worst case).

A parse either returns a unit or raises :class:`cvrisk.errors.UnitError`; anything else
(another exception type) is reported as a failure.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import random
import time
from collections.abc import Callable

import cvrisk.units
from cvrisk.errors import UnitError
from cvrisk.units import parse_unit

HOSTILE: list[str] = [
    "10**10**10**10",
    "9**9**9**9 kg",
    "cm*9^100^100",
    "kg**99999999",
    "10^9^9^9/L",
    "m" * 10_000,
    "(" * 5_000 + "m" + ")" * 5_000,
    "mg/" * 3_000 + "dL",
    "{" + "x" * 100_000 + "}",
    "mg." * 30_000 + "dL",
    "1e308*1e308 kg",
    "kg" + "2" * 1_000,
    "10*" + "9" * 400 + "/L",
    "[" * 10_000,
    "m/(" * 2_000 + "s" + ")" * 2_000,
    "μ" * 50_000,
    "mmol/L" + " " * 100_000,
    "\x00" * 1_000,
    "mm[Hg]" * 5_000,
    "/" * 50_000,
]
ORDINARY: list[str] = [
    "mg/dL",
    "mmol/L",
    "mm[Hg]",
    "mL/min/{1.73_m2}",
    "10*9/L",
    "x10^9/L",
    "MG/DL",
    "kg/m2",
    "[lb_av]",
    "%{HbA1c}",
    # the longest valid texts: many components, huge exact factors, nesting
    ".".join(["kg", "m-2", "s-1", "mol", "L-1", "mg", "ug", "ng", "dL", "cL", "mL", "uL", "pg"]),
    "10*99." * 10 + "10*9",
    "10*-99/" * 8 + "10*-9",
    "((mg/dL)/(mmol/L))/((g.m)/(s.h))/(kg.[in_i]2.[lb_av])",
]
ALPHABET = "0123456789*^.-+/(){}[]_%µ mgLdlkcuμsMNOPTRZ"


def _parse(text: str) -> str:
    try:
        parse_unit(text)
    except UnitError:
        return "UnitError"
    return "unit"


def _child(text: str, queue: multiprocessing.Queue[str]) -> None:
    try:
        queue.put(_parse(text))
    except Exception as exc:  # reported as a failure by the parent
        queue.put(f"failure: {type(exc).__name__}")


def finishes(text: str, timeout: float) -> str | None:
    """The outcome of parsing ``text`` in a child process, or None when it timed out."""
    queue: multiprocessing.Queue[str] = multiprocessing.Queue()
    process = multiprocessing.Process(target=_child, args=(text, queue), daemon=True)
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
        return None
    return queue.get() if not queue.empty() else "failure: child died"


def best_time(text: str, repeat: int) -> tuple[float, str]:
    """Best-of-``repeat`` cold-cache parse time of ``text`` (seconds) and its outcome."""
    best, outcome = float("inf"), ""
    for _ in range(repeat):
        _clear_caches()
        start = time.perf_counter()
        try:
            outcome = _parse(text)
        except Exception as exc:
            outcome = f"failure: {type(exc).__name__}"
        best = min(best, time.perf_counter() - start)
    return best, outcome


def _clear_caches() -> None:
    """Clear the caches of parsed units (``parse_unit`` itself was cached before the strict
    grammar; now its inner readings are)."""
    for name in ("parse_unit", "_parse_cached", "_ci_cached"):
        clear: Callable[[], None] | None = getattr(
            getattr(cvrisk.units, name, None), "cache_clear", None
        )
        if clear is not None:
            clear()


def shown(text: str) -> str:
    return repr(text if len(text) <= 30 else text[:24] + "...") + f" ({len(text)} chars)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per text; best reported")
    parser.add_argument("--fuzz", type=int, default=20_000, help="random texts to try")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per hostile text")
    args = parser.parse_args()
    print(f"Python {platform.python_version()} ({platform.machine()})")
    _parse("mg/dL")  # warm up (imports, data files, registry if any)

    worst = (0.0, "")
    print(f"{'text':<44} {'outcome':<12} {'time':>12}")
    for text in [*HOSTILE, *ORDINARY]:
        outcome = finishes(text, args.timeout) if text in HOSTILE else "unit"
        if outcome is None:
            print(f"{shown(text):<44} {'timeout':<12} {'>' + str(args.timeout) + ' s':>12}")
            worst = max(worst, (float("inf"), text))
            continue
        seconds, outcome = best_time(text, args.repeat)
        print(f"{shown(text):<44} {outcome:<12} {seconds * 1e6:9.1f} µs")
        worst = max(worst, (seconds, text))

    rng = random.Random(0)
    timed = []
    failures = 0
    for _ in range(args.fuzz):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 80)))
        seconds, outcome = best_time(text, 1)
        failures += outcome.startswith("failure")
        timed.append((seconds, text))
    slowest = sorted(timed, reverse=True)[:20]
    fuzz_worst = max(((best_time(t, args.repeat)[0], t) for _, t in slowest), default=(0.0, ""))
    print(
        f"\nworst listed text: {worst[0] * 1e6:.1f} µs for {shown(worst[1])}"
        if worst[0] != float("inf")
        else f"\nworst listed text: did not finish in {args.timeout} s: {shown(worst[1])}"
    )
    print(
        f"worst of {args.fuzz} random texts: {fuzz_worst[0] * 1e6:.1f} µs for "
        f"{shown(fuzz_worst[1])}; {failures} failure(s) (an exception other than UnitError)"
    )


if __name__ == "__main__":
    main()
