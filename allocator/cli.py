"""``python -m allocator solve | generate | bench``.

Bad input ends with exit status 2 and exactly one line on standard error (``error: <item>:
<problem>``) and nothing on standard output, so scripts can rely on stdout being a result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from allocator.gcpause import paused_gc
from allocator.problem import InputError, Night


def _read(path: str) -> str:
    """The night's JSON text from a file or, for ``-``, standard input."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path) from None


def _solve(args: argparse.Namespace) -> int:
    from allocator.api import solve

    try:
        night = Night.from_json(_read(args.night))
    except InputError as exc:
        if exc.path == "(input)":  # name the file (or stdin) that is not JSON
            raise InputError(exc.message, "stdin" if args.night == "-" else args.night) from None
        raise
    result = solve(night, rule=args.rule, time_limit=args.time_limit)
    with paused_gc():  # a city's result is a million small objects
        # one write: json.dump would write it in a million small pieces
        sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    return 0


def _generate(args: argparse.Namespace) -> int:
    if args.toronto:
        from allocator.toronto import toronto_night

        night = toronto_night(args.toronto, csv_path=args.csv, seed=args.seed)
    else:
        from allocator.generate import Rates, random_night

        try:
            night = random_night(sites=args.sites, beds=args.beds, requests=args.requests,
                                 seed=args.seed, rates=Rates(holds=args.hold_rate,
                                                             keep_apart=args.keep_apart_rate,
                                                             bans=args.ban_rate))
        except ValueError as exc:
            raise InputError(str(exc), "generate") from None
    json.dump(night.to_json(), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from allocator.bench import main as bench_main

    return bench_main(quick=args.quick)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be a share between 0 and 1")
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m allocator",
                                  description="Allocate one night's shelter beds.")
    sub = top.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve a night JSON file and print the result JSON")
    s.add_argument("night", help="night JSON file, or - for standard input")
    s.add_argument("--rule", choices=("need", "first-come"), default="need")
    s.add_argument("--time-limit", type=_positive, default=10.0, metavar="SECONDS")
    s.set_defaults(run=_solve)
    g = sub.add_parser("generate", help="print a random or a real Toronto night as JSON")
    g.add_argument("--sites", type=int, default=5)
    g.add_argument("--beds", type=int, default=150)
    g.add_argument("--requests", type=int, default=240)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--hold-rate", type=_share, default=0.03, metavar="SHARE",
                   help="share of people holding a partner organisation's booking (0.03)")
    g.add_argument("--keep-apart-rate", type=_share, default=0.005, metavar="SHARE",
                   help="keep-apart pairs per person (0.005; real life 0.006)")
    g.add_argument("--ban-rate", type=_share, default=0.003, metavar="SHARE",
                   help="share of people with a site ban (0.003; real life 0.03)")
    g.add_argument("--toronto", metavar="DATE", help="build the real Toronto night of DATE")
    g.add_argument("--csv", metavar="PATH",
                   help="Toronto occupancy CSV, plain or .gz (default: the copy in allocator/data)")
    g.set_defaults(run=_generate)
    b = sub.add_parser("bench", help="time the need rule against first-come on four nights")
    b.add_argument("--quick", action="store_true", help="small nights only (for smoke tests)")
    b.set_defaults(run=_bench)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
