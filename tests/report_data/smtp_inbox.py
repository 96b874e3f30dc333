"""A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port, keeping what it receives."""

import socket
from contextlib import contextmanager
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self, refuse: str | None = None):
        self.refuse = refuse
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_inbox(refuse: str | None = None):
    """Yield (inbox, port) while the server runs; RCPT to `refuse` is answered 550."""
    inbox = Inbox(refuse)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()
