"""POST /account/security/setup/start/: a new secret for an authenticator app."""

from __future__ import annotations

from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.support.two_factor import Enrolled

URL = "/account/security/setup/start/"


def test_it_rejects_get(staff_client: Client) -> None:
    assert staff_client.get(URL).status_code == 405
    assert not TOTPDevice.objects.exists()


def test_non_staff_users_are_refused(plain_client: Client) -> None:
    assert plain_client.post(URL).status_code == 403
    assert not TOTPDevice.objects.exists()


def test_it_creates_an_unconfirmed_authenticator_and_shows_it(staff_client: Client) -> None:
    response = staff_client.post(URL)
    assert response.status_code == 302
    assert response["Location"] == "/account/security/setup/"
    device = TOTPDevice.objects.get(user__username="alice")
    assert device.confirmed is False


def test_starting_again_makes_a_new_secret(staff_client: Client) -> None:
    staff_client.post(URL)
    first = TOTPDevice.objects.get().key
    staff_client.post(URL)
    assert TOTPDevice.objects.count() == 1
    assert TOTPDevice.objects.get().key != first


def test_it_leaves_the_current_authenticator_in_force(
    verified_client: Client, enrolled: Enrolled
) -> None:
    verified_client.post(URL)
    assert TOTPDevice.objects.filter(pk=enrolled.device.pk, confirmed=True).exists()
    assert TOTPDevice.objects.filter(confirmed=False).count() == 1
