"""GET /account/security/setup/: the QR code and the secret of the authenticator being set up."""

from __future__ import annotations

import base64
from typing import Any

from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import two_factor_begin

URL = "/account/security/setup/"


def test_without_a_setup_in_progress_it_goes_back(staff_client: Client) -> None:
    response = staff_client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/account/security/"


def test_non_staff_users_are_refused(plain_client: Client) -> None:
    assert plain_client.get(URL).status_code == 403


def test_it_shows_a_qr_code_and_the_secret_for_typing(staff_client: Client) -> None:
    staff_client.post("/account/security/setup/start/")
    device = TOTPDevice.objects.get()
    response = staff_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    secret = base64.b32encode(device.bin_key).decode()
    shown = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    assert f'<code class="mono secret-key" id="totp-secret">{shown}</code>' in body
    assert 'src="data:image/svg+xml;base64,' in body
    assert "Tollgate: alice" in body
    # Drawn here: nothing is fetched from anywhere to show it.
    assert "https://" not in body.split("<main", 1)[1]
    assert "no-store" in response["Cache-Control"]


def test_the_qr_code_is_a_plain_svg_image(staff_client: Client) -> None:
    staff_client.post("/account/security/setup/start/")
    body = staff_client.get(URL).content.decode()
    start = body.index("data:image/svg+xml;base64,") + len("data:image/svg+xml;base64,")
    svg = base64.b64decode(body[start : body.index('"', start)]).decode()
    assert svg.startswith("<svg") and "<script" not in svg


def test_another_admins_setup_is_not_shown(staff_client: Client, carol: Any) -> None:
    two_factor_begin(user=carol)
    assert staff_client.get(URL).status_code == 302
