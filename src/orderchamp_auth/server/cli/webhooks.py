"""``orderchamp-auth worker`` and ``orderchamp-auth webhook trigger``."""

from __future__ import annotations

import argparse
import asyncio
import signal

from ..settings import Settings
from .commands import CommandError, Commands, emit, json_option, open_platform
from .records import account_by_reference


def register(commands: Commands) -> None:
    commands.add("worker", "deliver webhooks (serve runs this too, unless ORDERCHAMP_WEBHOOK_WORKER=0)", cmd_worker)
    webhook = commands.group("webhook", "webhooks")
    trigger = webhook.add("trigger", "queue a test event for an app's webhook subscriptions", cmd_webhook_trigger)
    trigger.add_argument("--app", required=True, help="the app's client id")
    trigger.add_argument("--account", required=True, help="the account's id or slug")
    trigger.add_argument("--topic", required=True, help="the topic, e.g. PRODUCT_UPDATED")
    json_option(trigger)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Deliver webhooks until SIGINT or SIGTERM; a delivery cut short is sent again later."""
    from ..webhooks.worker import running, worker_from_settings

    platform = open_platform(settings, args)  # the schema is checked (and brought up to date) first

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with running(worker_from_settings(settings, platform.database, platform.secret_box)):
            print("delivering webhooks; stop with Ctrl-C", flush=True)
            await stop.wait()

    try:
        asyncio.run(main())
    finally:
        platform.database.dispose()
    return 0


def cmd_webhook_trigger(args: argparse.Namespace, settings: Settings) -> int:
    from ..errors import ValidationError
    from ..webhooks.subscriptions import TriggerError, trigger_test_event

    platform = open_platform(settings, args)
    try:
        with platform.database.write() as db:
            account = account_by_reference(db, args.account)
            app = db.apps.get_by_client_id(args.app.strip())
            if app is None:
                raise ValidationError(f"No app with client id {args.app!r}.")
            webhook_ids = trigger_test_event(db, app_id=app.id, account_id=account.id, topic=args.topic)
    except TriggerError as exc:
        raise CommandError(str(exc)) from None
    finally:
        platform.database.dispose()
    emit(args, {"webhookIds": webhook_ids},
         "\n".join(f"queued {args.topic} test event {webhook_id}" for webhook_id in webhook_ids))
    return 0
