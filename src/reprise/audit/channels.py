"""Item ``alert_channels``: a test message reaches every ``communication.test_contacts``
(and, with ``page``, every contact of the roles: on-call is never paged otherwise), each
through the existing delivery code in one try bounded in time."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from reprise.alerts.delivery import Dispatcher, contacts_of
from reprise.alerts.messages import Notification
from reprise.audit.items import Finding, part
from reprise.audit.wording import listing, seconds
from reprise.words import say

if TYPE_CHECKING:
    from reprise.alerts.records import DeliveryRecord
    from reprise.plan.model import Plan
    from reprise.store import Store

PER_CONTACT = timedelta(seconds=20)
"""The longest wait for one contact (the plan's delivery timeout, when shorter)."""
TEST_ROLE = "test_contacts"
"""How deliveries to the test contacts are recorded (in place of a role)."""


def _one_try(plan: Plan) -> Plan:
    """The plan with one delivery attempt per contact, bounded by :data:`PER_CONTACT`."""
    delivery = plan.alerting.delivery
    bounded = delivery.model_copy(
        update={"attempts": 1, "timeout": min(delivery.timeout, PER_CONTACT)}
    )
    alerting = plan.alerting.model_copy(update={"delivery": bounded})
    return plan.model_copy(update={"alerting": alerting})


def judge_channels(plan: Plan, store: Store | None, language: str, *, page: bool) -> Finding:
    """Send the test message; ❌ when a contact did not take it, or there is none."""
    targets = [(TEST_ROLE, url) for url in plan.communication.test_contacts]
    if page:
        targets += contacts_of(plan, [role.id for role in plan.roles])
    if not plan.communication.test_contacts:
        return Finding(
            "failed",
            part("audit.measured.no_test_contacts"),
            {"contacts": []},
            part("audit.fix.no_test_contacts"),
        )
    subject = say(language, "audit.test_subject", org=plan.organisation.name)
    body = say(language, "audit.test_body", org=plan.organisation.name)
    notification = Notification("test", (), subject, body)
    dispatcher = Dispatcher(_one_try(plan), store)

    async def send() -> list[DeliveryRecord]:
        return list(
            await asyncio.gather(
                *(dispatcher.deliver(role, url, notification) for role, url in targets)
            )
        )

    try:
        records = asyncio.run(send())
    finally:
        dispatcher.close()
    raw = {"contacts": [record.to_dict() for record in records], "paged": page}
    failed = [record for record in records if not record.ok]
    if failed:
        return Finding(
            "failed",
            part(
                "audit.measured.channels_failed",
                failed=len(failed),
                count=len(records),
                names=listing([f"{record.contact} ({record.error})" for record in failed]),
            ),
            raw,
            part("audit.fix.channels"),
        )
    return Finding(
        "ok",
        part(
            "audit.measured.channels",
            count=len(records),
            limit=seconds(_one_try(plan).alerting.delivery.timeout),
        ),
        raw,
    )
