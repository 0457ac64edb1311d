"""Print the table of registered envs, or write it into the docs' environments page between its
markers.

    python -m scripts.env_table           # print it
    python -m scripts.env_table --write   # rewrite the block between START and END in docs/envs/index.md

The table itself is ``actformer_envs.catalog.env_table()``; a test checks the committed page holds
exactly what it returns.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from actformer_envs.catalog import env_table

PAGE = Path(__file__).resolve().parents[1] / "docs" / "envs" / "index.md"
START, END = "<!-- envs:start -->", "<!-- envs:end -->"


def rewrite_page(page: Path = PAGE) -> None:
    """Replace the page's block between ``START`` and ``END`` with the current table."""
    text = page.read_text(encoding="utf-8")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    page.write_text(f"{head}{START}\n{env_table()}\n{END}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the table block in docs/envs/index.md")
    args = parser.parse_args(argv)
    if args.write:
        rewrite_page()
    else:
        print(env_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
