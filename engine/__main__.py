"""``python -m engine serve [--host H] [--port P] [--workers N]``: the local Symbl-compatible service.

Every other setting comes from ``CALLSCOPE_ENGINE_*`` environment variables (see :mod:`engine.settings`)."""

from __future__ import annotations

import argparse
import sys

from engine.settings import EngineSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_cmd = sub.add_parser("serve", help="serve the API and run the workers")
    serve_cmd.add_argument("--host")
    serve_cmd.add_argument("--port", type=int)
    serve_cmd.add_argument("--workers", type=int)
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "command" and v is not None}
    settings = EngineSettings(**overrides)
    from engine.serve import serve

    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
