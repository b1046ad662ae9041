"""`vqa reference build`: build (or reuse cached) reference titles."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness.cli.common import EXIT_CLEAN, CliError, progress_bar


def cmd_reference_build(args: argparse.Namespace) -> int:
    from harness.reference.titles import TitleError, build, cached, load_recipes, media_dir

    recipes = load_recipes()
    if args.titles:
        want = [x.strip() for x in args.titles.split(",")]
        unknown = [w for w in want if w not in {r.id for r in recipes}]
        if unknown:
            raise CliError(f"unknown title(s) {', '.join(unknown)}; known: {', '.join(r.id for r in recipes)}")
        recipes = [r for r in recipes if r.id in want]
    elif args.suite:
        recipes = [r for r in recipes if r.suite]
    with progress_bar(sys.stderr.isatty()) as prog:
        for r in recipes:
            t = None if args.force else cached(r)
            if t is None:
                task = prog.add_task(f"building {r.id}", total=1.0)
                try:

                    def step(i: int, n: int, task: Any = task) -> None:
                        prog.update(task, completed=i / n)

                    t = build(r, progress=step)
                except TitleError as e:
                    raise CliError(str(e)) from None
                state = "built"
            else:
                state = "cached"
            print(f"{t.id:<16} {state:<7} {t.width}x{t.height} @ {t.fps:g} fps, {t.duration_s:g} s  {t.path}")
    print(f"media in {media_dir()}")
    return EXIT_CLEAN


def register(sub: Any) -> None:
    r = sub.add_parser("reference", help="reference titles")
    rs = r.add_subparsers(dest="reference_command", required=True)
    rb = rs.add_parser("build", help="build (or reuse cached) reference titles")
    rb.add_argument("--titles", help="comma-separated title ids (default: all)")
    rb.add_argument("--force", action="store_true", help="rebuild even when cached")
    rb.add_argument("--suite", action="store_true", help="only the titles the release suites play")
    rb.set_defaults(func=cmd_reference_build)
