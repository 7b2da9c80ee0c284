"""The command line's parser pieces: one-line errors, defaults in the help, checked numbers."""

from __future__ import annotations

import argparse
from typing import NoReturn


class OneLineErrorParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, as for every other error; the usage is one --help away.
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, "", argparse.SUPPRESS) and not action.required
        if shown and "(default:" not in text:
            text += " (default: %(default)s)"
        return text


def port(text: str) -> int:
    return _whole_number(text, low=1, high=65535)


def worker_count(text: str) -> int:
    return _whole_number(text, low=1, high=256)


def _whole_number(text: str, *, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
    return value


def host(text: str) -> str:
    if not text.strip() or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a host name or address")
    return text.strip("[]")
