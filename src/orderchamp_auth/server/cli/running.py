"""Commands that run the platform or prepare its database: ``serve``, ``demo``, ``migrate``."""

from __future__ import annotations

import argparse
import os
import signal
from typing import Any

from ..settings import Settings
from .commands import CommandError, Commands, emit, foreign_tables_option, json_option, open_platform
from .options import host, port, worker_count


def register(commands: Commands) -> None:
    serve = commands.add("serve", "run the platform (web pages, OAuth endpoints and the API)", cmd_serve)
    serve.add_argument("--host", type=host, default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=port, default=8000, help="port to listen on, 1 to 65535")
    serve.add_argument("--workers", type=worker_count, default=1, help="worker processes")
    serve.add_argument("--demo", action="store_true", help="seed the demo data first and print its credentials")
    serve.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True,
                       help="log one line per request: method, path (never the query string), status, "
                            "duration")
    serve.add_argument("--log-format", choices=["text", "json"],
                       help="text lines, or one JSON object per line with the request id "
                            "(when not given: ORDERCHAMP_LOG_FORMAT, else text)")
    serve.add_argument("--metrics-port", type=port, metavar="PORT",
                       help="serve Prometheus metrics on 127.0.0.1:PORT/metrics "
                            "(when not given: ORDERCHAMP_METRICS_PORT, else no metrics)")
    foreign_tables_option(serve)

    demo = commands.add("demo", "seed the demo data and print its credentials (the same on every run)", cmd_demo)
    json_option(demo)
    demo.add_argument("--env", action="store_true",
                      help='print NAME=value lines for the shell: eval "$(orderchamp-auth demo --env)"')
    foreign_tables_option(demo)

    migrate = commands.add("migrate", "bring the database schema up to date", cmd_migrate)
    foreign_tables_option(migrate)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from ..store.migrate import prepare_database

    prepare_database(settings.database_url, allow_foreign_tables=args.allow_foreign_tables)
    print(f"database schema is up to date ({settings.database_display})")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from ..demo import format_demo, format_demo_env, seed_demo

    platform = open_platform(settings, args)
    data = seed_demo(settings, platform.database, platform.client_secrets)
    platform.database.dispose()
    if args.env:
        print(format_demo_env(data))
        return 0
    emit(args, data.to_dict(), format_demo(data))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from .. import serving

    settings = replace(settings.with_urls(args.host, args.port),
                       log_format=args.log_format or settings.log_format,
                       metrics_port=args.metrics_port or settings.metrics_port)
    if settings.log_format == "json":
        import logging.config

        from ..request_log import json_logging_config

        logging.config.dictConfig(json_logging_config())  # this process's records too, from here on
    if settings.metrics_port == args.port:
        raise CommandError(f"--metrics-port {args.port} is the port the platform listens on; choose another")
    try:
        sock = serving.bind(args.host, args.port)
    except serving.ServeError as exc:
        raise CommandError(str(exc)) from None
    if settings.metrics_port is None:
        return _serve(args, settings, sock)
    from .. import metrics

    # Before anything imports prometheus-client: the workers and this process count in files there.
    directory = metrics.make_multiprocess_dir()
    try:
        try:
            server = metrics.start_metrics_server(settings.metrics_port)
        except OSError as exc:
            sock.close()
            raise CommandError(f"cannot serve metrics on 127.0.0.1:{settings.metrics_port}: "
                               f"{exc.strerror or exc}") from None
        # uvicorn re-raises the SIGTERM it stopped on once it is done, under the handler it found:
        # make that an exit that runs the clean-up below rather than an abrupt end.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        try:
            return _serve(args, settings, sock)
        finally:
            server.shutdown()
    finally:
        metrics.remove_multiprocess_dir(directory)


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(0)


def _serve(args: argparse.Namespace, settings: Settings, sock: Any) -> int:
    from .. import serving

    try:
        platform = open_platform(settings, args)
        if args.demo:
            from ..demo import format_demo, seed_demo

            print(format_demo(seed_demo(settings, platform.database, platform.client_secrets)), flush=True)
        platform.database.dispose()
    except BaseException:
        sock.close()
        raise
    # The workers build their settings from the environment: hand them what was checked here.
    os.environ.update(
        ORDERCHAMP_WEB_URL=settings.web_url, ORDERCHAMP_API_URL=settings.api_url,
        ORDERCHAMP_SECRET_KEY=",".join(settings.secret_keys), DATABASE_URL=settings.database_url,
        ORDERCHAMP_REQUEST_LOG="1" if args.access_log else "0", ORDERCHAMP_LOG_FORMAT=settings.log_format,
        ORDERCHAMP_METRICS_PORT=str(settings.metrics_port or ""),
        ORDERCHAMP_WEBHOOK_ALLOW_LOOPBACK="1" if args.demo or settings.webhook_allow_loopback else "0",
    )
    shared_buckets = None
    if settings.rate_limits and not settings.redis_url and args.workers > 1:
        from ..ratelimit.local import SHARED_FILE_ENV, create_shared_file

        # One bucket per token for all the workers, in memory they map (ratelimit/local.py).
        shared_buckets = create_shared_file()
        os.environ[SHARED_FILE_ENV] = shared_buckets
    workers = f"{args.workers} worker" + ("s" if args.workers > 1 else "")
    ready = (f"serving on {settings.web_url} (API {settings.api_url}/graphql), listening on "
             f"{args.host}:{args.port} with {workers}; database {settings.database_display}")
    if settings.metrics_port is not None:
        ready += f"; metrics on http://127.0.0.1:{settings.metrics_port}/metrics"
    try:
        started = serving.run(sock, workers=args.workers, on_ready=lambda: print(ready, flush=True),
                              log_format=settings.log_format)
    finally:
        if shared_buckets is not None:
            os.unlink(shared_buckets)
    return 0 if started else 1
