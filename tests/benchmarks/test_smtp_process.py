"""The benchmarks' SMTP server (benchmarks/smtp_process.py): its lean address parsing
answers what aiosmtpd's own parser answers, and every accepted message is kept once."""

from __future__ import annotations

import smtplib

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.smtp_process import LeanSMTP, SmtpProcess

ARGUMENTS = [
    "<dana@example.com>",
    "<dana@example.com> SIZE=1234",
    " <first.last+tag@sub.example.org>  BODY=8BITMIME SMTPUTF8",
    "<o'neil@example.com>",
    '<"quoted local"@example.com>',
    "<jörg@example.com>",
    "dana@example.com",
    "<@route:dana@example.com>",
    "<>",
    "",
    "<a@b@c>",
    "<dana@example.com",
]


def _lean() -> LeanSMTP:
    server = LeanSMTP.__new__(LeanSMTP)  # _getaddr reads only local_part_limit
    server.local_part_limit = 0
    return server


@pytest.mark.parametrize("argument", ARGUMENTS)
def test_lean_address_parsing_is_aiosmtpds(argument):
    server = _lean()
    assert server._getaddr(argument) == SMTP._getaddr(server, argument)


def _answer(parse, argument):
    """What a parse returns, or the exception it raises (aiosmtpd's parser raises on some
    malformed arguments: the lean one hands those to it, so it raises the same)."""
    try:
        return parse(argument)
    except Exception as exc:  # noqa: BLE001 (compared, not handled)
        return type(exc)


@given(st.text(alphabet="<>@ab.+'\"=9 -:", max_size=24))
def test_lean_address_parsing_is_aiosmtpds_for_any_argument(argument):
    server = _lean()
    lean = _answer(server._getaddr, argument)
    assert lean == _answer(lambda a: SMTP._getaddr(server, a), argument)


@pytest.mark.parametrize("kind", SmtpProcess.KINDS)
def test_each_kind_of_server_keeps_every_accepted_message_id(kind):
    server = SmtpProcess(kind)
    try:
        client = smtplib.SMTP(server.config["SMTP_HOST"], server.config["SMTP_PORT"], timeout=10)
        for n in (1, 2, 2):
            message = f"Subject: {n}\r\nMessage-ID: <m{n}@test>\r\n\r\nbody\r\n"
            client.sendmail("tracker@example.com", [f"u{n}@example.com"], message)
        client.quit()
        assert server.count() == 3
        assert [mid for mid, _ in server.accepted()] == ["<m1@test>", "<m2@test>", "<m2@test>"]
        assert server.cpu() > 0
    finally:
        accepted = server.stop()
    assert len(accepted) == 3
