"""An operator can look at the mail models in the Django admin."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client

from core.mda.inbound import receive
from core.mda.inbound_tasks import process_inbound_message
from core.models import Mailbox
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
