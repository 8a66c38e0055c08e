"""`masthead newsletter`: one day's email edition as a MIME message, written or sent.

The two parts are rendered in memory from the site's records and templates, by the
same plan and renderer as a build, so the message holds exactly the `email.html` and
`email.txt` a build writes; the output folder is not touched. Messages are made with
the standard library's `email` package and sent with `smtplib`; credentials come from
the environment only (MASTHEAD_SMTP_USER, MASTHEAD_SMTP_PASSWORD), never from the
command line, where other users of the machine could read them.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import smtplib
import ssl
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path

from masthead.building.build import BuildOptions, site_in_memory
from masthead.config import SiteConfig
from masthead.diagnostics import MastheadError
from masthead.model.editions import build_editions
from masthead.outputs.newsletter import sender, unsubscribe_url
from masthead.outputs.plan import email_specs
from masthead.outputs.render import build_memos, render_output

USER_VARIABLE = "MASTHEAD_SMTP_USER"
PASSWORD_VARIABLE = "MASTHEAD_SMTP_PASSWORD"
TIMEOUT = 30.0
"""Seconds to wait for the mail server at each step, connecting included."""


class NewsletterError(MastheadError):
    """No such edition, nothing to send, or the mail server would not take it."""


@dataclass(frozen=True, slots=True)
class EmailEdition:
    day: date
    title: str
    html: str
    text: str


def run_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """`masthead newsletter`: render, then write to --to (else stdout) and/or send."""
    if bool(args.smtp) != bool(args.recipient):
        parser.error("--smtp and --recipient go together")
    if args.starttls and not args.smtp:
        parser.error("--starttls applies to --smtp only")
    server = parse_server(args.smtp) if args.smtp else None
    options = BuildOptions(site_dir=args.site, drafts=args.drafts, base_url=args.base_url)
    config, edition = render_edition(options, args.date)
    message = make_message(config, edition)
    if args.to is not None:
        write_message(message, args.to)
        print(f"Wrote the edition of {edition.day} to {args.to}", file=sys.stderr)
    elif server is None:
        sys.stdout.buffer.write(message.as_bytes(policy=SMTP))
    if server is not None:
        smtp = SmtpOptions(*server, args.starttls, tuple(args.recipient))
        sent = send(message, smtp)
        print(f"Sent the edition of {edition.day} to {sent} recipients", file=sys.stderr)
    return 0


def render_edition(options: BuildOptions, day: date | None) -> tuple[SiteConfig, EmailEdition]:
    """The email of `day` (default: the latest edition), rendered as a build renders it.

    `[newsletter] enabled = false` leaves the emails out of builds, not out of this.
    """
    memory = site_in_memory(options)
    config = memory.inputs.config
    editions = build_editions(memory.site)
    if not editions:
        raise NewsletterError(f"{memory.inputs.content_dir}: no stories, so no edition to send")
    wanted = day or editions[0].day
    edition = next((e for e in editions if e.day == wanted), None)
    if edition is None:
        raise NewsletterError(
            f"no edition for {wanted.isoformat()}: no story is dated that day in "
            f"{config.timezone} (editions run from {editions[-1].day} to {editions[0].day})"
        )
    env = memory.environment()
    html_spec, text_spec = email_specs(config, edition)
    with build_memos(env) as memos:
        html = render_output(env, html_spec, config, memos).decode("utf-8")
        text = render_output(env, text_spec, config, memos).decode("utf-8")
    return config, EmailEdition(edition.day, html_spec.context["newsletter"].title, html, text)


def make_message(config: SiteConfig, edition: EmailEdition) -> EmailMessage:
    """multipart/alternative, the text part first (clients show the last they can):
    UTF-8 and quoted-printable, so that no line is longer than SMTP allows."""
    name, address = sender(config)
    message = EmailMessage(policy=SMTP)
    message["Subject"] = f"{config.title}: {edition.title}"
    message["From"] = formataddr((name, address))
    message["Date"] = format_datetime(_now())
    message["Message-ID"] = make_msgid(domain=address.rpartition("@")[2])
    message["List-Unsubscribe"] = f"<{unsubscribe_url(config)}>"
    message.set_content(edition.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(edition.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def _now() -> datetime:
    """Now, or SOURCE_DATE_EPOCH when set, for a message that is the same on every run."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    return datetime.fromtimestamp(int(epoch) if epoch.isdigit() else time.time(), UTC)


def write_message(message: EmailMessage, path: Path) -> None:
    """Write the .eml whole or not at all: written aside, then renamed into place."""
    data = message.as_bytes(policy=SMTP)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise NewsletterError(f"{path}: cannot write the message: {exc.strerror or exc}") from exc


@dataclass(frozen=True, slots=True)
class SmtpOptions:
    host: str
    port: int
    starttls: bool
    recipients: tuple[str, ...]


def parse_server(text: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 address in brackets) for --smtp."""
    host, colon, port = text.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise NewsletterError(f"--smtp {text!r}: expected HOST:PORT, such as mail.example.org:587")
    return host, int(port)


def send(message: EmailMessage, options: SmtpOptions) -> int:
    """One message per recipient, every one the same bytes (only the envelope differs,
    so no recipient learns the others' addresses)."""
    data = message.as_bytes(policy=SMTP)
    user, password = os.environ.get(USER_VARIABLE), os.environ.get(PASSWORD_VARIABLE)
    if bool(user) != bool(password):
        raise NewsletterError(f"set both {USER_VARIABLE} and {PASSWORD_VARIABLE}, or neither")
    where = f"{options.host}:{options.port}"
    if user and not options.starttls and not _is_loopback(options.host):
        raise NewsletterError(f"{where}: refusing to send the password unencrypted; add --starttls")
    envelope_from = parseaddr(str(message["From"]))[1]
    sent = 0
    try:
        with smtplib.SMTP(options.host, options.port, timeout=TIMEOUT) as server:
            if options.starttls:
                server.starttls(context=ssl.create_default_context())
            if user and password:
                server.login(user, password)
            for recipient in options.recipients:
                server.sendmail(envelope_from, [recipient], data)
                sent += 1
    except smtplib.SMTPNotSupportedError as exc:
        raise NewsletterError(f"{where} does not offer STARTTLS") from exc
    except (smtplib.SMTPException, OSError) as exc:
        # SMTPException is an OSError too: refused recipients, authentication, a dropped line.
        what = str(exc) if isinstance(exc, smtplib.SMTPException) else f"cannot reach it: {exc}"
        done = f" (sent to {sent} of {len(options.recipients)} before that)" if sent else ""
        raise NewsletterError(f"mail server {where}: {what}{done}") from exc
    return sent


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
