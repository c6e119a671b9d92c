"""Deliver a notice to its person: render it, send it by its channel, keep its state.

One send per activity: retried with backoff by Temporal, each attempt under the notice's
stable id, so a receiver drops the one duplicate a killed worker can cause. The archive is
asked first and told after, but only as far as it answers: an archive outage never holds
back a delivery (the workflow records the outcome through its archive lane as well).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from complaints.domain.models import Delivery, DeliveryOutcome, workflow_id
from complaints.domain.people import People
from complaints.infra.archive import Archive
from complaints.infra.logging import log
from complaints.infra.metrics import count
from complaints.infra.settings import SettingError, Settings, people_of
from complaints.notices.channels import Attachment, Mailer, NotConfigured, SendFailed, Webhook
from complaints.notices.letter import LetterRefused, decision_letter
from complaints.notices.render import STAFF_LOCALE, TemplateError, Templates

NOT_CONFIGURED = "channel not configured"


@dataclass(frozen=True)
class Channels:
    """The configured channels; None where a setting is missing."""

    mail: Mailer | None = None
    sms: Webhook | None = None
    emergency: Webhook | None = None
    team_mail: str | None = None
    people: People | None = None
    """Whose e-mail a notice to `handler:<person id>` goes to; the team's mailbox for anyone else."""
    web_ui_url: str = "http://localhost:8233"
    namespace: str = "default"
    letterhead: dict[str, str | None] = field(default_factory=lambda: {"firm_name": None,
                                                                       "regulator_hotline": "12378"})
    """What every written decision names besides the complaint: the firm, the regulator's hotline."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Channels:
        try:
            mail = Mailer(settings.smtp_url, settings.mail_from, settings.smtp_require_tls) if settings.smtp_url else None
        except ValueError as err:
            raise SettingError(str(err)) from None
        return cls(
            mail=mail,
            sms=Webhook(settings.sms_webhook_url, "sms webhook", settings.webhook_secret)
            if settings.sms_webhook_url else None,
            emergency=Webhook(settings.emergency_webhook_url, "emergency webhook")
            if settings.emergency_webhook_url else None,
            team_mail=settings.team_mail, people=people_of(settings.people_file),
            web_ui_url=settings.web_ui_url.rstrip("/"),
            namespace=settings.temporal_namespace,
            letterhead={"firm_name": settings.firm_name, "regulator_hotline": settings.regulator_hotline},
        )


def channel_of(delivery: Delivery) -> str:
    """email or sms for the complainant (e-mail when there is an address), the robot for the
    emergency team, the team's mailbox for handlers and managers."""
    if delivery.recipient == "complainant":
        email = bool(delivery.contact and delivery.contact.email)
        if delivery.kind == "decision":  # a written decision: a PDF by e-mail, else a letter to post
            return "email" if email and delivery.values.get("channel") != "letter" else "post"
        return "email" if email else "sms"
    return "emergency" if delivery.recipient == "emergency-team" else "team"


class Postman:
    def __init__(self, channels: Channels, templates: Templates, archive: Archive) -> None:
        self.channels, self.templates, self.archive = channels, templates, archive

    @activity.defn
    def deliver_notice(self, delivery: Delivery) -> DeliveryOutcome:
        """Send once; a notice the archive already records as sent is not sent again."""
        attempt = activity.info().attempt
        channel = channel_of(delivery)
        recorded = self._ask(delivery)
        if recorded and recorded["status"] == "sent":
            return self._outcome(delivery, "sent", channel, recorded["attempts"], provider_id=recorded["provider_id"])
        try:
            provider_id = self._send(delivery, channel)
        except NotConfigured:
            outcome = self._outcome(delivery, "pending", channel, attempt - 1, error=NOT_CONFIGURED)
            self._tell(outcome)
            return outcome
        except (SendFailed, TemplateError, LetterRefused) as err:
            permanent = not isinstance(err, SendFailed) or err.permanent
            self._tell(self._outcome(delivery, "pending", channel, attempt, error=str(err)))
            count(activity.metric_meter(), "complaints_deliveries_failed", channel=channel)
            raise ApplicationError(str(err), type="DeliveryFailed", non_retryable=permanent) from None
        outcome = self._outcome(delivery, "sent", channel, attempt, provider_id=provider_id)
        self._tell(outcome)
        count(activity.metric_meter(), "complaints_deliveries_sent", channel=channel)
        log.info("notice delivered", complaint_id=delivery.complaint_id, seq=delivery.seq, kind=delivery.kind,
                 channel=channel, attempts=attempt)
        return outcome

    def _send(self, delivery: Delivery, channel: str) -> str:
        values = {"complaint_id": delivery.complaint_id, **delivery.values}
        contact = delivery.contact
        if channel == "emergency":
            link = f"{self.channels.web_ui_url}/namespaces/{self.channels.namespace}/workflows/" \
                   f"{workflow_id(delivery.complaint_id)}"
            text = self.templates.render(delivery.kind, STAFF_LOCALE, values | {"ui_link": link}, suffix="md")
            robot = self._configured(self.channels.emergency)
            return robot.post({"msgtype": "markdown", "markdown": {"title": text.subject, "content": text.body}},
                              delivery.notice_id)
        if channel == "team":
            text = self.templates.render(delivery.kind, STAFF_LOCALE, values)
            mail = self._configured(self.channels.mail)
            return mail.send(self._staff_address(delivery.recipient), text.subject, text.body, delivery.notice_id)
        assert contact is not None, "a notice to the complainant carries the contact"
        if delivery.kind == "decision":
            return self._send_letter(delivery, channel, values | {"name": contact.name})
        text = self.templates.render(delivery.kind, contact.locale, values | {"name": contact.name})
        if channel == "email":
            return self._configured(self.channels.mail).send(contact.email, text.subject, text.body,
                                                              delivery.notice_id)
        if not contact.phone:
            raise SendFailed("sms: the complainant left no phone number", permanent=True)
        return self._configured(self.channels.sms).post(
            {"notice_id": delivery.notice_id, "complaint_id": delivery.complaint_id, "kind": delivery.kind,
             "to": contact.phone, "locale": contact.locale, "text": f"{text.subject}\n{text.body}"},
            delivery.notice_id)

    def _staff_address(self, recipient: str) -> str:
        """A handler's own e-mail (the people file), else the team's mailbox (`COMPLAINTS_TEAM_MAIL`)."""
        kind, _, person_id = recipient.partition(":")
        person = self.channels.people.person(person_id) if self.channels.people and kind == "handler" else None
        return person.email if person else self._configured(self.channels.team_mail)

    def _send_letter(self, delivery: Delivery, channel: str, values: dict) -> str:
        """Render and check the written decision, keep it in the archive, then mail it as a PDF;
        a `letter` complaint's (or one without an e-mail address) is kept for the firm to post."""
        assert delivery.contact is not None
        letter = decision_letter(self.templates, delivery.contact.locale, values | self.channels.letterhead)
        mail = None if channel == "post" else self._configured(self.channels.mail)
        try:
            self.archive.keep_letter(delivery.complaint_id, delivery.seq, letter.sha256, letter.pdf,
                                     f"{letter.text.subject}\n\n{letter.text.body}", postal=mail is None,
                                     at=datetime.now(timezone.utc))
        except SQLAlchemyError:
            raise SendFailed("archive: the letter could not be kept, so it is not sent yet") from None
        if mail is None:
            return f"post:sha256:{letter.sha256}"
        return mail.send(delivery.contact.email, letter.text.subject, letter.text.body, delivery.notice_id,
                         attachments=(Attachment(f"decision-{delivery.complaint_id}.pdf", letter.pdf),))

    @staticmethod
    def _configured(channel):  # noqa: ANN001, ANN205 - any channel or setting
        if not channel:
            raise NotConfigured
        return channel

    @staticmethod
    def _outcome(delivery: Delivery, status: str, channel: str, attempts: int, **more: str | None) -> DeliveryOutcome:
        return DeliveryOutcome(complaint_id=delivery.complaint_id, seq=delivery.seq, kind=delivery.kind,
                               status=status, channel=channel, attempts=attempts, at=datetime.now(timezone.utc),
                               **more)

    def _ask(self, delivery: Delivery) -> dict | None:
        try:
            return self.archive.delivery(delivery.complaint_id, delivery.seq, delivery.kind)
        except SQLAlchemyError:
            log.warning("archive unavailable: delivering without its record", complaint_id=delivery.complaint_id)
            return None

    def _tell(self, outcome: DeliveryOutcome) -> None:
        try:
            self.archive.record_delivery(outcome)
        except SQLAlchemyError:
            log.warning("archive unavailable: delivery state kept by the workflow", complaint_id=outcome.complaint_id)
