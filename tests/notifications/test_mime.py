"""Message bytes built once (ADR 0177), read back by the standard library's own parser.

Whatever a row holds, the bytes must parse to the same subject, addresses and bodies,
stay within RFC 5322's line limit, be pure ASCII unless an address needs RFC 6532, and
never let a header value start a header of its own.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from email.utils import formataddr
from types import SimpleNamespace

import pytest
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.support.scheduler import frozen
from tracker.extensions import db
from tracker.models import OutboxEmail
from tracker.notifications.delivery import deliver_due
from tracker.notifications.mime import InvalidMessage, Sender, prepare
from tracker.services.messaging.outbox import enqueue

SENDER = Sender("Engagement Tracker <tracker@example.com>")
CREATED = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def row(**fields):
    values = {
        "id": 7,
        "to_address": "dana@example.com",
        "subject": "M1 is overdue by 2 days",
        "message_id": "<reminder-abc@tracker.example>",
        "created_at": CREATED,
        "headers": {},
        "text_body": "Hello\n",
        "html_body": None,
    }
    return SimpleNamespace(**(values | fields))


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


def content(part) -> str:
    """A part's decoded text with the wire's CRLF read as newlines."""
    return part.get_content().replace("\r\n", "\n")


def lines(data: bytes) -> list[bytes]:
    assert b"\n" not in data.replace(b"\r\n", b""), "bare LF or CR in the message"
    return data.split(b"\r\n")


def test_plain_message_parses_back_to_the_row():
    prepared = prepare(row(), SENDER)
    message = parse(prepared.data)
    assert message["From"] == "Engagement Tracker <tracker@example.com>"
    assert message["To"] == "dana@example.com"
    assert message["Subject"] == "M1 is overdue by 2 days"
    assert message["Message-ID"] == "<reminder-abc@tracker.example>"
    assert message["Date"].datetime == CREATED
    assert message.get_content_type() == "text/plain"
    assert content(message) == "Hello\n"
    assert message.defects == []
    assert (prepared.sender, prepared.recipient, prepared.utf8) == (
        "tracker@example.com",
        "dana@example.com",
        False,
    )


def test_html_alternative_has_both_parts_in_order():
    message = parse(prepare(row(html_body="<p>Hello</p>"), SENDER).data)
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert content(parts[0]) == "Hello\n" and content(parts[1]) == "<p>Hello</p>\n"
    assert content(message.get_body(("html",))) == "<p>Hello</p>\n"


def test_same_row_gives_the_same_bytes():
    first = prepare(row(html_body="<p>é</p>", subject="Réunion"), SENDER).data
    assert prepare(row(html_body="<p>é</p>", subject="Réunion"), SENDER).data == first


def test_a_header_value_cannot_start_another_header():
    evil = "Hi\r\nBcc: everyone@example.com\nX-Evil: 1"
    message = parse(
        prepare(row(subject=evil, headers={"X-Tracker-Reminder": "a\r\nCc: x@y"}), SENDER).data
    )
    assert message["Bcc"] is None and message["Cc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Hi  Bcc: everyone@example.com X-Evil: 1"
    assert message["X-Tracker-Reminder"] == "a  Cc: x@y"


def test_long_list_unsubscribe_survives_and_lines_stay_legal():
    url = "<https://tracker.example/unsubscribe/" + "x" * 400 + ">"
    headers = {"List-Unsubscribe": url, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    prepared = prepare(row(headers=headers), SENDER)
    assert parse(prepared.data)["List-Unsubscribe"] == url
    assert all(len(line) <= 998 for line in lines(prepared.data))


def test_lone_dot_and_long_lines_in_bodies():
    body = "first\n.\n..\n" + "y" * 2000 + "\nlast"
    message = parse(prepare(row(text_body=body), SENDER).data)
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert content(message) == body + "\n"


def test_non_ascii_name_in_sender_is_encoded_words():
    sender = Sender("Équipe Tracker <tracker@example.com>")
    prepared = prepare(row(), sender)
    assert prepared.data.isascii() and not prepared.utf8
    assert parse(prepared.data)["From"] == "Équipe Tracker <tracker@example.com>"


@pytest.mark.parametrize(
    "subject",
    [
        "Réunion — the checklist item “Data access and infrastructure ready” is overdue by 3 days",
        "⚠️ 🚀" * 40 + " end",  # four-byte characters: never split between two words
        "é",
        "X-Tracker " + "ü" * 200,
    ],
)
def test_a_long_non_ascii_subject_is_encoded_words_within_the_line_limits(subject):
    """Base64 encoded words of whole characters, each line within 78 columns and each
    word within 75 characters (RFC 5322 §2.1.1, RFC 2047 §2), read back whole."""
    prepared = prepare(row(subject=subject, headers={"X-Tracker-Note": subject}), SENDER)
    assert prepared.data.isascii()
    head = prepared.data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    subject_lines = head.split("Subject: ", 1)[1].split("\r\nDate:", 1)[0].split("\r\n")
    assert len(subject_lines) >= 2 or len(subject.encode()) < 40
    for number, line in enumerate(subject_lines):
        assert len(line) + (len("Subject: ") if number == 0 else 0) <= 78, line
        word = line.strip()
        assert word.startswith("=?utf-8?b?") and word.endswith("?=") and len(word) <= 75
        # each word decodes alone: no character is cut between two words
        base64.b64decode(word[10:-2]).decode("utf-8")
    message = parse(prepared.data)
    assert message.defects == []
    assert message["Subject"] == subject and message["X-Tracker-Note"] == subject


@pytest.mark.parametrize(
    "address", ["", "no-at-sign", "a@", "@b", "a b@c", "a@b,c@d", "<a@b>", 'x"@y', "a@b\nc"]
)
def test_malformed_recipient_is_refused(address):
    with pytest.raises(InvalidMessage):
        prepare(row(to_address=address), SENDER)


def test_malformed_sender_and_header_name_are_refused():
    with pytest.raises(InvalidMessage):
        Sender("Tracker")
    with pytest.raises(InvalidMessage):
        prepare(row(headers={"Bad Name": "x"}), SENDER)


def test_internationalised_address_is_an_rfc6532_message():
    prepared = prepare(row(to_address="josé@exämple.com", subject="Réunion"), SENDER)
    assert prepared.utf8 and not prepared.data.isascii()
    message = parse(prepared.data)
    assert message["To"] == "josé@exämple.com" and message["Subject"] == "Réunion"


printable = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=printable,
    text=printable,
    html=st.none() | printable,
    name=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
)
def test_any_row_parses_back_to_what_it_holds(subject, text, html, name):
    sender = Sender(formataddr((name, "tracker@example.com")))
    prepared = prepare(row(subject=subject, text_body=text, html_body=html or None), sender)
    assert prepared.data.isascii()
    assert all(len(line) <= 998 for line in lines(prepared.data))
    message = parse(prepared.data)
    assert message.defects == []
    # Outer white space is not part of a header's value; folded lines read back as one.
    assert message["Subject"] == CONTROLS.sub(" ", subject).strip(" \t")
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    body += "" if body.endswith("\n") else "\n"
    assert content(message.get_body(("plain",))) == body
    if html:
        assert content(message.get_body(("html",))).rstrip("\n") == (
            html.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
        )
    [mailbox] = message["From"].addresses
    assert mailbox.addr_spec == "tracker@example.com"
    assert mailbox.display_name == name.strip()


# -- through delivery ----------------------------------------------------------------------


@pytest.fixture
def smtp_app(make_app, smtp_server):
    return make_app(**smtp_server.config())


def _deliver(*emails: tuple) -> int:
    """Queue each (key, to, subject, text[, html]) and run one delivery (in an app context)."""
    clock = frozen(current_app)
    for email in emails:
        enqueue(*email)
    db.session.commit()
    return deliver_due(clock())


@pytest.mark.smtp
def test_a_malformed_address_fails_its_row_and_the_batch_goes_on(smtp_app, smtp_server):
    with smtp_app.app_context():
        bad = ("mime:bad", "not an address@example.com", "Bad", "body")
        assert _deliver(bad, ("mime:good", "good@example.com", "Good", "body")) == 1
        rows = dict(db.session.execute(select(OutboxEmail.key, OutboxEmail.status)).all())
        assert rows == {"mime:bad": "failed", "mime:good": "sent"}
        query = select(OutboxEmail.last_reply).where(OutboxEmail.key == "mime:bad")
        reply = db.session.scalar(query)
        assert "malformed recipient" in reply
    assert [m["To"] for m in smtp_server.messages] == ["good@example.com"]


@pytest.mark.smtp
def test_lone_dot_line_reaches_the_server_intact(smtp_app, smtp_server):
    with smtp_app.app_context():
        dots = ("mime:dot", "dana@example.com", "Dots", "above\n.\nbelow", "<p>.</p>")
        assert _deliver(dots) == 1
    [message] = smtp_server.messages
    assert content(message.get_body(("plain",))) == "above\n.\nbelow\n"


@pytest.mark.smtp
def test_internationalised_address_is_sent_with_smtputf8(make_app, smtputf8_server):
    app = make_app(**smtputf8_server.config())
    with app.app_context():
        assert _deliver(("mime:idn", "josé@exämple.com", "Réunion", "Bonjour")) == 1
    [(mail_from, rcpt_tos, options)] = smtputf8_server.envelopes
    assert rcpt_tos == ["josé@exämple.com"] and "SMTPUTF8" in [o.upper() for o in options]
    [message] = smtputf8_server.messages
    assert message["To"] == "josé@exämple.com" and message["Subject"] == "Réunion"


@pytest.mark.smtp
def test_internationalised_address_is_refused_without_smtputf8(smtp_app, smtp_server):
    with smtp_app.app_context():
        idn = ("mime:idn", "josé@exämple.com", "Réunion", "Bonjour")
        assert _deliver(idn, ("mime:plain", "dana@example.com", "Meeting", "Hello")) == 1
        row = db.session.scalar(select(OutboxEmail).where(OutboxEmail.key == "mime:idn"))
        assert row.status == "failed" and row.last_reply.startswith("553")
    assert [m["To"] for m in smtp_server.messages] == ["dana@example.com"]


def test_the_date_is_each_rows_own_instant_and_offset():
    # The Date line is formatted once per instant (a tick's emails share one); an equal
    # instant written in another offset keeps its own offset, a later one its own time.
    from datetime import timedelta, timezone

    plus_two = CREATED.astimezone(timezone(timedelta(hours=2)))
    dates = [
        parse(prepare(row(created_at=at), SENDER).data)["Date"]
        for at in (CREATED, plus_two, CREATED, CREATED + timedelta(seconds=1))
    ]
    assert [str(d) for d in dates] == [
        "Wed, 04 Mar 2026 09:30:00 +0000",
        "Wed, 04 Mar 2026 11:30:00 +0200",
        "Wed, 04 Mar 2026 09:30:00 +0000",
        "Wed, 04 Mar 2026 09:30:01 +0000",
    ]
    assert {d.datetime for d in dates[:3]} == {CREATED}


def test_the_from_line_is_built_once_per_sender_and_encoding():
    sender = Sender("Équipe Tracker <tracker@example.com>")
    ascii_message = parse(prepare(row(), sender).data)
    utf8_message = parse(prepare(row(to_address="dána@example.com"), sender).data)
    assert ascii_message["From"].addresses[0].display_name == "Équipe Tracker"
    assert utf8_message["From"].addresses[0].display_name == "Équipe Tracker"
    assert sender.from_line(False).startswith("From: =?utf-8?")  # encoded words
    assert sender.from_line(False) is sender.from_line(False)
    assert sender.from_line(True) is sender.from_line(True)


@pytest.mark.parametrize("value", ["=??B??=", "a =?utf-8?q?x?= b", "=?"])
def test_text_that_looks_like_an_encoded_word_reads_back_as_written(value):
    # The reference parser decodes "=?...?=" wherever it stands, even in a quoted name:
    # such a subject or sender name is sent as encoded words itself.
    sender = Sender(formataddr((value, "tracker@example.com")))
    message = parse(prepare(row(subject=value), sender).data)
    assert message.defects == []
    assert message["Subject"] == value
    assert message["From"].addresses[0].display_name == value
    assert message["From"].addresses[0].addr_spec == "tracker@example.com"
