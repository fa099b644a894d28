from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_logs_out_on_post(staff_client: Client) -> None:
    response = staff_client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in staff_client.session
    assert staff_client.get("/")["Location"].startswith("/login/")


def test_it_rejects_get(staff_client: Client) -> None:
    assert staff_client.get("/logout/").status_code == 405
    assert "_auth_user_id" in staff_client.session


def test_it_needs_the_csrf_token(csrf_client: Client) -> None:
    assert csrf_client.post("/logout/").status_code == 403
    assert "_auth_user_id" in csrf_client.session


def test_the_layout_offers_a_logout_button(staff_client: Client) -> None:
    body = staff_client.get("/").content.decode()
    assert 'action="/logout/" method="post"' in body
    assert "Log out" in body
