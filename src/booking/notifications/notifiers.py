"""Notifiers: how an email leaves. One small interface, chosen by BOOKING_NOTIFIER.

    class Notifier(Protocol):
        async def send(self, message: Message) -> None: ...
        async def aclose(self) -> None: ...

``send`` raises ``PermanentDeliveryError`` when retrying cannot help (the message goes to dead
at once) and anything else when it might (it is retried with backoff). The relay calls
``aclose`` after each batch, so a notifier may keep a connection open across one batch.

A plug-in is any ``package.module:factory`` where ``factory(settings)`` returns a notifier.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Protocol, TextIO, runtime_checkable

import aiosmtplib
from anyio import to_thread

from booking.config import Settings, SmtpSecurity

logger = logging.getLogger("booking.notifications")


class PermanentDeliveryError(Exception):
    """Retrying will not help (an SMTP 5xx, say): the message is set aside as dead."""


@runtime_checkable
class Notifier(Protocol):
    async def send(self, message: Message) -> None: ...

    async def aclose(self) -> None: ...


class ConsoleNotifier:
    """Prints each email readably, as Django's console backend does: a separator, the headers,
    the text part (links and all) and the names of attachments.

    Development only (production refuses it): it writes patients' emails to stdout.
    """

    SEPARATOR = "-" * 79

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    async def send(self, message: Message) -> None:
        print(self.render(message), file=self.stream, flush=True)

    @classmethod
    def render(cls, message: Message) -> str:
        headers = [
            f"{name}: {_decoded(message[name])}" for name in ("Message-ID", "From", "To", "Subject")
        ]
        body, attachments = "(no text part)", []
        for part in message.walk():
            if part.get_filename():
                attachments.append(
                    f"[attachment: {part.get_filename()} ({part.get_content_type()})]"
                )
            elif part.get_content_type() == "text/plain" and body == "(no text part)":
                raw = part.get_payload(decode=True)
                assert isinstance(raw, bytes)
                body = raw.decode(part.get_content_charset() or "utf-8")
        return "\n".join([cls.SEPARATOR, *headers, "", body.rstrip("\n"), *attachments])

    async def aclose(self) -> None:
        return None


def _decoded(value: str | None) -> str:
    """A header as a person reads it (RFC 2047 words decoded)."""
    return str(make_header(decode_header(value))) if value else ""


class FileNotifier:
    """Writes each email as an RFC 5322 ``.eml`` file, atomically (temporary file, then rename)."""

    def __init__(self, directory: Path, *, fsync: bool = False) -> None:
        self.directory = directory
        self.fsync = fsync

    async def send(self, message: Message) -> None:
        await to_thread.run_sync(self._write, message)

    def _write(self, message: Message) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = str(message["Message-ID"]).strip("<>").replace("/", "_") + ".eml"
        # Message-IDs are unique and one relay holds a message at a time; the pid and thread
        # keep two relays' retries of one message apart. Cheaper than mkstemp's random names.
        temporary = self.directory / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(message.as_bytes())
                if self.fsync:  # BOOKING_MAIL_FSYNC: about 0.7 ms a message, paid only if asked
                    file.flush()
                    os.fsync(file.fileno())
            os.replace(temporary, self.directory / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def aclose(self) -> None:
        return None


class SmtpNotifier:
    """aiosmtplib: STARTTLS or implicit TLS, optional login, timeouts, one connection a batch."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        settings = self.settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security is SmtpSecurity.tls,
            start_tls=settings.smtp_security is SmtpSecurity.starttls,
            timeout=settings.smtp_timeout_seconds,
        )
        await client.connect()
        if settings.smtp_username:
            await client.login(settings.smtp_username, settings.smtp_password)
        self._client = client
        return client

    async def send(self, message: Message) -> None:
        try:
            client = await self._connected()
            await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = {response.code for response in error.recipients}
            if all(code >= 500 for code in codes):
                raise PermanentDeliveryError(f"SMTP {min(codes)}") from None
            raise
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= 500:
                raise PermanentDeliveryError(f"SMTP {error.code}") from None
            raise
        except (aiosmtplib.SMTPException, OSError):
            await self._drop()
            raise

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


def load_notifier(settings: Settings) -> Notifier:
    choice = settings.notifier.strip()
    if choice == "console":
        return ConsoleNotifier()
    if choice == "file":
        return FileNotifier(Path(settings.mail_dir), fsync=settings.mail_fsync)
    if choice == "smtp":
        return SmtpNotifier(settings)
    module_name, _, factory_name = choice.partition(":")
    if not module_name or not factory_name:
        raise ValueError(
            f"BOOKING_NOTIFIER={choice!r}: use console, file, smtp or package.module:factory"
        )
    factory = getattr(importlib.import_module(module_name), factory_name)
    notifier = factory(settings)
    if not isinstance(notifier, Notifier):
        raise TypeError(f"{choice} did not return a notifier (async send and aclose)")
    return notifier
