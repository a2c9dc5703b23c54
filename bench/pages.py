"""Page benchmarks run by `make bench`. Each helper adds its own module here."""
from __future__ import annotations

from bench import board


def main() -> None:
    board.main()


if __name__ == "__main__":
    main()
