"""Deliver notifications to the contacts of roles through Apprise: each contact on its own,
retried with a doubling backoff, every outcome stored; a failure is logged and shown,
never raised into the monitor."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from reprise.alerts.messages import Notification
from reprise.alerts.records import DeliveryRecord, record_delivery
from reprise.plan.contacts import redact
from reprise.plan.model import Plan
from reprise.store.database import Store

logger = logging.getLogger(__name__)
Sender = Callable[[str, str, str], str | None]
"""(url, subject, body) → None when sent, else why not."""


class _ThreadLog(logging.Handler):
    """Keeps Apprise's warnings per thread: the reason a delivery failed, not another's."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self.local, "lines", None)
        if lines is not None:
            lines.append(record.getMessage())

    def start(self) -> None:
        self.local.lines = []

    def stop(self) -> list[str]:
        lines: list[str] = getattr(self.local, "lines", None) or []
        self.local.lines = None
        return lines


_LOG = _ThreadLog()
_LOG_LOCK = threading.Lock()


def apprise_send(url: str, subject: str, body: str) -> str | None:
    """Send one message to one Apprise URL; None when it went out, else the reason."""
    import apprise

    with _LOG_LOCK:
        apprise_logger = logging.getLogger("apprise")
        if _LOG not in apprise_logger.handlers:
            apprise_logger.addHandler(_LOG)
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return "not a URL Apprise can send to"
    _LOG.start()
    try:
        sent = notifier.notify(title=subject, body=body, body_format=apprise.NotifyFormat.TEXT)
    finally:
        lines = _LOG.stop()
    if sent:
        return None
    return "; ".join(dict.fromkeys(lines))[:500] or "the service refused the message"


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
    ) -> None:
        self.plan, self.store, self.sender, self.sleep = plan, store, sender, sleep
        self.on_result = on_result
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
        wait = settings.backoff.total_seconds()
        error: str | None = None
        attempt = 0
        for attempt in range(1, settings.attempts + 1):
            error = await self._try(url, notification, settings.timeout.total_seconds())
            if error is None:
                break
            logger.warning(
                "notification to %s (%s) failed, attempt %d/%d: %s",
                redact(url),
                role,
                attempt,
                settings.attempts,
                error,
            )
            if attempt < settings.attempts:
                await self.sleep(wait)
                wait *= 2
        record = DeliveryRecord(
            notification.alert_id,
            notification.kind,
            role,
            redact(url),
            notification.subject,
            datetime.now(UTC),
            attempt,
            error is None,
            error,
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
        call = loop.run_in_executor(
            self.executor, self.sender, url, notification.subject, notification.body
        )
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


async def send_to_roles(
    plan: Plan, store: Store | None, notification: Notification, sender: Sender = apprise_send
) -> list[DeliveryRecord]:
    """Deliver one notification to every contact of its roles and wait for the outcomes."""
    dispatcher = Dispatcher(plan, store, sender)
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
