"""Deliver notifications to the contacts of roles through Apprise: each contact on its own,
retried with a doubling backoff, every outcome stored; a failure is logged and shown,
never raised into the monitor.

An e-mail contact gets multipart/alternative: the text exactly as written, and HTML made
from the same text (reports are Markdown, rendered by markdown-it with tables and no raw
HTML; other messages are plain text, escaped line by line), plus the attachments handed
over (the final report's HTML file). Every other contact (chat, webhooks) gets the text as
it is, with no attachment."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import html
import inspect
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from reprise.alerts.messages import Notification
from reprise.alerts.records import DeliveryRecord, record_delivery
from reprise.plan.contacts import recipient
from reprise.plan.model import Plan
from reprise.store.database import Store

logger = logging.getLogger(__name__)
Sender = Callable[..., str | None]
"""``(url, subject, body)`` → None when sent, else why not. A sender that also takes the
keyword arguments ``markdown`` (the body is Markdown) and ``attachments`` (files to attach)
is given them, as :func:`apprise_send` is."""

MARKDOWN_KINDS = frozenset({"progress", "final", "sla"})
"""Notifications whose body is Markdown (the incident and SLA reports); the others are
plain text."""


class _ThreadLog(logging.Handler):
    """Keeps Apprise's warnings per delivery: the reason a delivery failed, not another's.

    Kept in a context variable, not per thread: Apprise 2 sends from worker threads of its
    own, to which it hands the caller's context (``submit_with_context``)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
            "apprise_lines", default=None
        )

    def emit(self, record: logging.LogRecord) -> None:
        lines = self.lines.get()
        if lines is not None:
            lines.append(record.getMessage())

    def start(self) -> None:
        self.lines.set([])

    def stop(self) -> list[str]:
        lines = self.lines.get() or []
        self.lines.set(None)
        return lines


_LOG = _ThreadLog()
_LOG_LOCK = threading.Lock()


_PAGE = (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title><style>'
    "body{{font-family:sans-serif;line-height:1.4}}"
    "table{{border-collapse:collapse}}th,td{{border:1px solid #bbb;padding:2px 8px;"
    "text-align:left;vertical-align:top}}"
    "</style></head>\n<body>\n{content}</body></html>\n"
)


def mail_html(body: str, markdown: bool, title: str = "") -> str:
    """The HTML alternative of a mail body: Markdown rendered (tables on, raw HTML escaped,
    since the body holds text people typed), or plain text escaped with its line breaks and
    its indents (the ``  - `` lines of an alert)."""
    if markdown:
        from markdown_it import MarkdownIt

        content = MarkdownIt("commonmark", {"html": False}).enable("table").render(body)
    else:
        lines = (_INDENT.sub(_spaces, html.escape(line)) for line in body.split("\n"))
        content = "<p>" + "<br>\n".join(lines) + "</p>\n"
    return _PAGE.format(content=content, title=html.escape(title))


_INDENT = re.compile(r"^ +")


def _spaces(match: re.Match[str]) -> str:
    return "&nbsp;" * len(match.group())


class _PlainAlternative:
    """Gives Apprise's e-mail plugin the text part written for people.

    Apprise builds an HTML mail's text/plain part by converting the HTML back to text,
    which loses the message's layout (indents, tables, the narrow no-break spaces). While
    a mail is being sent, its HTML is registered here with its text, and the conversion of
    exactly that HTML gives the text instead (keyed by content, not by thread: Apprise sends
    from threads of its own)."""

    def __init__(self) -> None:
        self.texts: dict[str, tuple[str, int]] = {}
        self.installed = False
        self.lock = threading.Lock()

    def install(self) -> None:
        with self.lock:
            if self.installed:
                return
            from apprise import NotifyFormat
            from apprise.plugins.email import base

            original = getattr(base, "convert_between", None)
            if original is None:  # another Apprise: its own text part it is
                return

            def convert(from_format: Any, to_format: Any, content: Any) -> Any:
                if from_format == NotifyFormat.HTML and to_format == NotifyFormat.TEXT:
                    with self.lock:
                        found = self.texts.get(str(content).strip())
                    if found is not None:
                        return found[0]
                return original(from_format, to_format, content)

            setattr(base, "convert_between", convert)  # noqa: B010 - not exported
            self.installed = True

    @contextmanager
    def giving(self, page: str, text: str) -> Iterator[None]:
        """While the block runs, ``page`` converted to text is ``text``."""
        page = page.strip()  # as Apprise trims the body it is given
        with self.lock:
            _, users = self.texts.get(page, (text, 0))
            self.texts[page] = (text, users + 1)
        try:
            yield
        finally:
            with self.lock:
                _, users = self.texts[page]
                if users > 1:
                    self.texts[page] = (text, users - 1)
                else:
                    del self.texts[page]


_PLAIN = _PlainAlternative()


class _SubjectSpaces:
    """Apprise's e-mail plugin folds every run of whitespace in a subject into one plain
    space (RFC 5322 header folding), which turns French typography's narrow no-break space
    (``Point de situation\u202f: …``) into an ordinary one. While it builds a message, the
    narrow spaces travel as a private-use character it leaves alone, and go back into the
    Subject header of the message it built. Installed once, guarded: an Apprise without
    ``prepare_emails`` keeps its own behaviour (tests/integration/test_mail_expected.py
    would then show the plain space)."""

    MARK = "\ue000"

    def __init__(self) -> None:
        self.installed = False
        self.lock = threading.Lock()

    def install(self) -> None:
        with self.lock:
            if self.installed:
                return
            from apprise.plugins.email import NotifyEmail

            original = NotifyEmail.__dict__.get("prepare_emails")
            if not isinstance(original, staticmethod):
                return
            build = original.__func__
            mark = self.MARK

            def prepare(*args: Any, subject: str = "", **kwargs: Any) -> Iterator[Any]:
                if "\u202f" not in subject:
                    yield from build(*args, subject=subject, **kwargs)
                    return
                for message in build(*args, subject=subject.replace("\u202f", mark), **kwargs):
                    yield dataclasses.replace(message, body=_restore_subject(message.body, mark))

            NotifyEmail.prepare_emails = staticmethod(prepare)  # type: ignore[method-assign]
            self.installed = True


def _restore_subject(message: str, mark: str) -> str:
    """The MIME message with its Subject's marks back to narrow no-break spaces."""
    from email import message_from_string
    from email.header import Header, decode_header, make_header

    parsed = message_from_string(message)
    subject = str(make_header(decode_header(parsed["Subject"] or "")))
    if mark not in subject:
        return message
    del parsed["Subject"]
    parsed["Subject"] = Header(subject.replace(mark, "\u202f"), "utf-8").encode()
    return parsed.as_string()


_SUBJECT = _SubjectSpaces()


def apprise_send(
    url: str,
    subject: str,
    body: str,
    *,
    markdown: bool = False,
    attachments: Sequence[Path] = (),
    timeout: float | None = None,
) -> str | None:
    """Send one message to one Apprise URL; None when it went out, else the reason.

    An e-mail goes as text and HTML (see :func:`mail_html`) with ``attachments``; any other
    service gets the text alone, as before. ``timeout`` (seconds) caps the plugin's socket
    timeouts (connect and read), so that a contact that never answers frees its thread."""
    import apprise
    from apprise.plugins.email import NotifyEmail

    with _LOG_LOCK:
        apprise_logger = logging.getLogger("apprise")
        if _LOG not in apprise_logger.handlers:
            apprise_logger.addHandler(_LOG)
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return "not a URL Apprise can send to"
    if timeout is not None:
        _cap_timeouts(notifier[0], timeout)
    is_mail = isinstance(notifier[0], NotifyEmail)
    _LOG.start()
    try:
        if is_mail:
            _PLAIN.install()
            _SUBJECT.install()
            page = mail_html(body, markdown, subject)
            files = apprise.AppriseAttachment()
            for path in attachments:
                if not files.add(str(path)):
                    return f"cannot attach {path.name}"
            with _PLAIN.giving(page, body):
                sent = notifier.notify(
                    title=subject,
                    body=page,
                    body_format=apprise.NotifyFormat.HTML,
                    attach=files if attachments else None,
                )
        else:
            sent = notifier.notify(title=subject, body=body, body_format=apprise.NotifyFormat.TEXT)
    finally:
        lines = _LOG.stop()
    if sent:
        return None
    return "; ".join(dict.fromkeys(lines))[:500] or "the service refused the message"


def _cap_timeouts(plugin: Any, timeout: float) -> None:
    """Lower an Apprise plugin's socket timeouts to ``timeout`` (never raise them)."""
    for name in ("socket_connect_timeout", "socket_read_timeout"):
        current = getattr(plugin, name, None)
        if isinstance(current, int | float) and current > timeout:
            setattr(plugin, name, float(timeout))


def contacts_of(plan: Plan, roles: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """(role, contact URL) for every member of these roles, each URL once."""
    found: dict[str, str] = {}
    for role in plan.roles:
        if role.id in roles:
            for member in role.members:
                for url in member.contacts:
                    found.setdefault(url, role.id)
    return [(role, url) for url, role in found.items()]


class Dispatcher:
    """Sends notifications in the background of the monitor."""

    def __init__(
        self,
        plan: Plan,
        store: Store | None,
        sender: Sender = apprise_send,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_result: Callable[[DeliveryRecord], None] | None = None,
        attachments: Sequence[Path] = (),
        *,
        attempts: int | None = None,
        timeout: float | None = None,
    ) -> None:
        self.plan, self.store, self.sender, self.sleep = plan, store, sender, sleep
        self.on_result = on_result
        self.attachments = tuple(attachments)
        """Files attached to every mail this dispatcher sends (the final report)."""
        self.attempts = attempts
        self.timeout = timeout
        """Tries per contact and seconds per try instead of the plan's (``alert test``)."""
        self.takes_parts = _takes_parts(sender)
        self.takes_timeout = _takes(sender, "timeout")
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="notify")
        self.tasks: set[asyncio.Task[DeliveryRecord]] = set()

    def submit(self, notification: Notification) -> None:
        """Start delivering (from inside the event loop); returns at once."""
        contacts = contacts_of(self.plan, notification.roles)
        if not contacts:
            logger.warning(
                "no contact for roles %s: %s not sent", notification.roles, notification.subject
            )
        for role, url in contacts:
            task = asyncio.get_running_loop().create_task(self.deliver(role, url, notification))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def deliver(self, role: str, url: str, notification: Notification) -> DeliveryRecord:
        """Try up to ``attempts`` times, doubling the wait; store and return the outcome."""
        settings = self.plan.alerting.delivery
        attempts = self.attempts or settings.attempts
        timeout = self.timeout or settings.timeout.total_seconds()
        wait = settings.backoff.total_seconds()
        error: str | None = None
        attempt = 0
        for attempt in range(1, attempts + 1):
            error = await self._try(url, notification, timeout)
            if error is None:
                break
            logger.warning(
                "notification to %s (%s) failed, attempt %d/%d: %s",
                recipient(url),
                role,
                attempt,
                attempts,
                error,
                extra={
                    "alert_id": notification.alert_id,
                    "service": notification.service,
                    "kind": notification.kind,
                    "role": role,
                },
            )
            if attempt < attempts:
                await self.sleep(wait)
                wait *= 2
        record = DeliveryRecord(
            notification.alert_id,
            notification.kind,
            role,
            recipient(url),
            notification.subject,
            datetime.now(UTC),
            attempt,
            error is None,
            error,
        )
        logger.log(
            logging.INFO if record.ok else logging.ERROR,
            "%s to %s (%s) %s: %s",
            notification.kind,
            record.contact,
            role,
            "sent" if record.ok else f"given up after {attempt} attempt(s): {error}",
            notification.subject,
            extra={
                "alert_id": notification.alert_id,
                "service": notification.service,
                "kind": notification.kind,
                "role": role,
            },
        )
        if self.store is not None:
            try:
                await asyncio.to_thread(record_delivery, self.store, record)
            except Exception:  # the state store failing must not lose the monitor
                logger.exception("could not store a delivery outcome")
        if self.on_result is not None:
            self.on_result(record)
        return record

    async def _try(self, url: str, notification: Notification, timeout: float) -> str | None:
        loop = asyncio.get_running_loop()
        send: Callable[[], str | None]
        extra: dict[str, Any] = {"timeout": timeout} if self.takes_timeout else {}
        if self.takes_parts:
            markdown = notification.kind in MARKDOWN_KINDS
            send = partial(
                self.sender,
                url,
                notification.subject,
                notification.body,
                markdown=markdown,
                attachments=self.attachments,
                **extra,
            )
        else:
            send = partial(self.sender, url, notification.subject, notification.body, **extra)
        call = loop.run_in_executor(self.executor, send)
        try:
            return await asyncio.wait_for(call, timeout)
        except TimeoutError:
            return f"no answer within {timeout:g} s"
        except Exception as error:  # noqa: BLE001 - a plugin bug is a failed delivery
            return f"{type(error).__name__}: {error}"

    async def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for deliveries in flight."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)

    def close(self) -> None:
        """Stop the delivery threads (those still sending finish on their own)."""
        self.executor.shutdown(wait=False, cancel_futures=True)


def _takes(sender: Sender, name: str) -> bool:
    """Whether ``sender`` takes the keyword ``name`` (or any keyword)."""
    try:
        parameters = inspect.signature(sender).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def _takes_parts(sender: Sender) -> bool:
    """Whether ``sender`` takes the ``markdown`` and ``attachments`` keywords."""
    try:
        parameters = inspect.signature(sender).parameters
    except (TypeError, ValueError):
        return False
    return all(name in parameters for name in ("markdown", "attachments")) or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


async def send_to_roles(
    plan: Plan,
    store: Store | None,
    notification: Notification,
    sender: Sender = apprise_send,
    attachments: Sequence[Path] = (),
) -> list[DeliveryRecord]:
    """Deliver one notification to every contact of its roles and wait for the outcomes;
    e-mails carry ``attachments``."""
    dispatcher = Dispatcher(plan, store, sender, attachments=attachments)
    try:
        return list(
            await asyncio.gather(
                *(
                    dispatcher.deliver(role, url, notification)
                    for role, url in contacts_of(plan, notification.roles)
                )
            )
        )
    finally:
        dispatcher.close()
