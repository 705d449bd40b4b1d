"""The embedded default's e-mail backend: each message saved as a .eml file under
the data directory and summarised on the console, so a self-hoster without SMTP
can still read verification codes and receipts."""

import sys
import threading
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.crypto import get_random_string

from simdesk.core.clock import utcnow


class FileAndConsoleEmailBackend(BaseEmailBackend):
    _lock = threading.Lock()

    def __init__(self, *args, stream=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.directory = Path(settings.EMAIL_DIR)
        self.stream = stream or sys.stdout

    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = utcnow().strftime("%Y%m%dT%H%M%S")
            path = self.directory / f"{stamp}-{get_random_string(8)}.eml"
            path.write_bytes(message.message().as_bytes(linesep="\n"))
            body = message.body if isinstance(message.body, str) else ""
            with self._lock:
                self.stream.write(
                    f"\n--- e-mail to {', '.join(message.recipients())}: {message.subject}\n"
                    f"{body.strip()}\n--- saved as {path}\n"
                )
                self.stream.flush()
            sent += 1
        return sent
