"""E-mail over SMTP (smtplib): plain, STARTTLS or SSL, with the snapshot JPEG attached.

The Message-ID is derived from the alert id, so a repeat of one alert is the same mail
to a mail client, and `X-Fallwatch-Alert-Id` carries the id for filters.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from fallwatch.config.channels import EmailChannel
from fallwatch.notify.base import Notifier
from fallwatch.notify.message import DeliveryResult, Message

SNAPSHOT_MAX_BYTES = 5_000_000


class EmailNotifier(Notifier[EmailChannel]):
    def build(self, message: Message) -> EmailMessage:
        cfg = self.config
        mail = EmailMessage()
        mail["Subject"] = f"{cfg.subject_prefix} {message.email_subject()}".strip()
        mail["From"] = cfg.from_addr
        mail["To"] = message.recipient
        mail["Date"] = formatdate(message.raised_at.timestamp(), usegmt=True)
        mail["Message-ID"] = f"<{message.alert_id}@fallwatch>"
        mail["X-Fallwatch-Alert-Id"] = message.alert_id
        mail.set_content(message.email_body())
        path = message.snapshot_path
        if path is not None and path.is_file() and path.stat().st_size <= SNAPSHOT_MAX_BYTES:
            mail.add_attachment(
                path.read_bytes(),
                maintype="image",
                subtype="jpeg",
                filename=re.sub(r"[^A-Za-z0-9_-]", "_", message.camera_id)
                + f"-event{message.event_id}.jpg",
            )
        return mail

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if cfg.security == "ssl":
            client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s, context=context)
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
            if cfg.security == "starttls":
                client.starttls(context=context)
        if cfg.username is not None and cfg.password is not None:
            client.login(cfg.username, cfg.password.get_secret_value())
        return client

    def send(self, message: Message) -> DeliveryResult:
        try:
            mail = self.build(message)
            client = self._connect()
            try:
                refused = client.send_message(mail)
            finally:
                with contextlib.suppress(smtplib.SMTPException):
                    client.quit()
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return DeliveryResult(
                ok=False,
                permanent=all(code >= 500 for code in codes),
                answer=self.redact(str(exc.recipients)[:1000]),
                error=f"recipient refused (SMTP {codes})",
            )
        except smtplib.SMTPResponseException as exc:
            reply = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            return DeliveryResult(
                ok=False,
                permanent=exc.smtp_code >= 500,
                answer=self.redact(f"{exc.smtp_code} {reply}"[:1000]),
                error=self.redact(f"SMTP {exc.smtp_code} ({type(exc).__name__})"),
            )
        except smtplib.SMTPNotSupportedError as exc:
            # The server lacks STARTTLS or AUTH: a configuration problem, not a blip.
            return DeliveryResult(ok=False, permanent=True, error=self.redact(f"SMTP: {exc}"))
        except (smtplib.SMTPException, OSError) as exc:
            return DeliveryResult(ok=False, error=self.redact(f"{type(exc).__name__}: {exc}"))
        if refused:
            return DeliveryResult(ok=False, error=self.redact(f"refused: {refused}"))
        return DeliveryResult(
            ok=True, provider_message_id=mail["Message-ID"], answer="250 accepted"
        )
