#!/usr/bin/env python3
"""``orderchamp-auth serve`` with the graphql-core baseline mounted at ``/bench/graphql-baseline``.

The same command as the product's (its migrations, settings, workers, shared rate-limit
buckets, request log), serving ``graphql_baseline:app_with_baseline`` instead of the bare app,
so that the API and the baseline are measured on one server. Run with the server's own
interpreter; ``bench.py --start --baseline`` (and ``--ratios``) does:

    .venv/bin/python benchmarks/serve_with_baseline.py serve --port 8010 --workers 2
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    # The workers are new interpreters that import the factory by name: they find this
    # directory through the environment (and this process through its path).
    sys.path.insert(0, HERE)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p)
    from orderchamp_auth.server import serving
    from orderchamp_auth.server.cli import main as cli

    serving.APP = "graphql_baseline:app_with_baseline"
    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
