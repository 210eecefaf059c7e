"""An operator can look at the mail models in the Django admin."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client

from core.mda.inbound import receive
from core.mda.inbound_tasks import process_inbound_message
from core.models import InboundMessage, Mailbox
from tests import mail_samples


@pytest.fixture
def operator(db, broker):
    User.objects.filter(username="operator").delete()
    user = User.objects.create_superuser("operator", "op@example.org", "pw")
    client = Client()
    client.force_login(user)
    yield client
    user.delete()


@pytest.mark.parametrize("model", ["mailbox", "thread", "message", "inboundmessage"])
def test_each_mail_model_has_an_admin_list_and_detail_page(operator, model):
    Mailbox.objects.create(address="alice@example.org")
    row = receive(mail_samples.with_attachment(), ["alice@example.org"])
    process_inbound_message(row.pk, claimant="test")
    listing = operator.get(f"/admin/core/{model}/")
    assert listing.status_code == 200
    obj = apps.get_model("core", model).objects.first()
    assert operator.get(f"/admin/core/{model}/{obj.pk}/change/").status_code == 200


def test_a_failed_message_is_processed_again_from_the_admin_once_its_mailbox_exists(operator):
    # Given mail for a mailbox that did not exist yet
    row = receive(mail_samples.simple(), ["carol@example.org"])
    process_inbound_message(row.pk, claimant="first")
    row.refresh_from_db()
    assert row.status == InboundMessage.Status.FAILED
    # When the operator creates it and asks for the message to be processed again
    Mailbox.objects.create(address="carol@example.org")
    response = operator.post(
        "/admin/core/inboundmessage/", {"action": "process_again", "_selected_action": [row.pk]}, follow=True
    )
    assert "1 of 1 message(s) queued" in response.content.decode()
    process_inbound_message(row.pk, claimant="second")
    # Then it is delivered
    row.refresh_from_db()
    assert row.status == InboundMessage.Status.DELIVERED
