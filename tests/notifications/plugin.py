"""A notifier plug-in, as a practice's developer would write one (BOOKING_NOTIFIER=
tests.notifications.plugin:make_notifier). It keeps messages in a list."""

from __future__ import annotations

from email.message import Message

from booking.config import Settings

SENT: list[Message] = []


class ListNotifier:
    def __init__(self, settings: Settings) -> None:
        self.practice = settings.practice_name
        self.closed = 0

    async def send(self, message: Message) -> None:
        SENT.append(message)

    async def aclose(self) -> None:
        self.closed += 1


def make_notifier(settings: Settings) -> ListNotifier:
    return ListNotifier(settings)
