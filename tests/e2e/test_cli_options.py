"""The command line's options: plain help with defaults, references as the demo prints them,
and errors that say what to type instead."""

from __future__ import annotations

import argparse
import json

import pytest

from orderchamp_auth.protocol.scopes import Scope
from orderchamp_auth.server.cli import build_parser
from orderchamp_auth.server.demo import PARTNER_EMAIL

from .cli_support import assert_one_line_error, cli_env, run

HELP_PAGES = [[], ["serve"], ["demo"], ["migrate"], ["account", "create"], ["partner", "create"],
              ["app", "create"], ["token", "create"]]


def parsers() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser) -> None:
        found[parser.prog] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    walk(child)

    walk(build_parser())
    return found


@pytest.mark.parametrize("words", HELP_PAGES, ids=lambda words: " ".join(words) or "main")
def test_help_shows_no_markup_or_document_references(words, tmp_path):
    result = run(cli_env("sqlite:///unused.sqlite3"), *words, "--help", cwd=tmp_path)
    assert result.returncode == 0
    for stray in ("``", "SPEC", "section 10", "%(default)"):
        assert stray not in result.stdout
    assert list(tmp_path.iterdir()) == []  # help touches no database


def test_every_option_has_help_and_shows_its_default():
    for prog, parser in parsers().items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or action.dest == "help":
                continue
            assert action.help, f"{prog} {action.option_strings} has no help"
            has_default = action.default not in (None, False, "", argparse.SUPPRESS) and not action.required
            formatted = parser.formatter_class(prog)._get_help_string(action)
            assert ("(default:" in formatted) == has_default, (prog, action.option_strings)


def test_serve_help_shows_the_defaults(tmp_path):
    text = " ".join(run(cli_env("sqlite:///x.sqlite3"), "serve", "--help", cwd=tmp_path).stdout.split())
    for shown in ("(default: 127.0.0.1)", "(default: 8000)", "(default: 1)", "--no-access-log"):
        assert shown in text


@pytest.fixture
def demo(settings, tmp_path) -> dict:
    result = run(cli_env(settings.database_url), "demo", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("reference", ["id", "name", "email"])
def test_app_create_takes_the_partner_by_id_name_or_a_partner_users_email(reference, demo, settings, tmp_path):
    given = {"id": demo["partner_id"], "name": demo["partner_name"], "email": PARTNER_EMAIL.upper()}[reference]
    result = run(cli_env(settings.database_url), "app", "create", "--partner", given, "--name", f"By {reference}",
                 "--application-url", "https://by-ref.example/install", "--redirect-url",
                 "https://by-ref.example/cb", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["partner_id"] == demo["partner_id"]


def test_an_unknown_partner_says_what_it_may_be(settings, tmp_path):
    result = run(cli_env(settings.database_url), "app", "create", "--partner", "nobody@example.com", "--name", "x",
                 "--application-url", "https://x.example/install", "--redirect-url", "https://x.example/cb",
                 cwd=tmp_path)
    assert_one_line_error(result, "No partner 'nobody@example.com'", "its id, its name or the email")


@pytest.mark.parametrize("reference", ["account_id", "account_slug"])
def test_token_create_takes_the_account_by_id_or_slug(reference, demo, settings, tmp_path):
    result = run(cli_env(settings.database_url), "token", "create", "--account", demo[reference], "--scopes",
                 "account_read", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["account_id"] == demo["account_id"]
    assert created["private_token"] == created["token"] and created["token"].startswith("ocp_")


def test_token_create_prints_the_token_alone_on_stdout_and_its_webhook_secret_on_stderr(demo, settings, tmp_path):
    result = run(cli_env(settings.database_url), "token", "create", "--account", demo["account_id"], "--scopes",
                 "account_read", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("ocp_") and "\n" not in token and " " not in token
    secret = result.stderr.split("webhook_secret: ", 1)[1].split()[0]
    assert secret.startswith("ocw_") and secret not in result.stdout


def test_partner_create_links_a_demo_account_by_slug(demo, settings, tmp_path):
    result = run(cli_env(settings.database_url), "partner", "create", "--name", "Slug Partner", "--demo-account",
                 demo["account_slug"], "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_an_unknown_scope_lists_the_valid_ones(settings, tmp_path):
    line = assert_one_line_error(run(cli_env(settings.database_url), "token", "create", "--account", "1",
                                     "--scopes", "account_read,nope", cwd=tmp_path), "unknown scope: nope")
    assert all(scope.value in line for scope in Scope)


def test_an_unknown_account_is_named(settings, tmp_path):
    assert_one_line_error(run(cli_env(settings.database_url), "token", "create", "--account", "no-such-shop",
                              "--scopes", "account_read", cwd=tmp_path), "No account with id or slug 'no-such-shop'")


def test_several_validation_errors_read_as_sentences(demo, settings, tmp_path):
    line = assert_one_line_error(run(
        cli_env(settings.database_url), "app", "create", "--partner", demo["partner_id"], "--name", "x",
        "--application-url", "http://example.com/install", "--redirect-url", "ftp://example.com/cb", cwd=tmp_path))
    assert ".;" not in line and ".)" not in line and ").;" not in line
    assert "--application-url: The application URL must use https" in line
    assert "--redirect-url: The redirect URL must be an absolute http(s) URL." in line


def test_a_usage_mistake_is_one_line_pointing_at_help(tmp_path):
    assert_one_line_error(run(cli_env("sqlite:///x.sqlite3"), "app", "create", "--name", "x", cwd=tmp_path),
                          "the following arguments are required: --partner", "orderchamp-auth app create --help")
