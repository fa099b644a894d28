from __future__ import annotations

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.channels import snapshot
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_login(channel: Channel) -> None:
    url = f"/channels/{channel.pk}/inline/"
    assert_login_redirect(Client().post(url, {"weight": "9"}), url)
    assert Channel.objects.get().weight == 1


def test_anonymous_htmx_requests_reload_to_the_login_page(channel: Channel) -> None:
    response = Client().post(
        f"/channels/{channel.pk}/inline/",
        {"weight": "9"},
        headers={**HTMX, "HX-Current-URL": "http://testserver/channels/?q=a"},
    )
    # A login page swapped into a table row would be useless: htmx reloads the page instead.
    assert response["HX-Redirect"] == "/login/?next=/channels/%3Fq%3Da"


def test_it_refuses_non_staff(plain_client: Client, channel: Channel) -> None:
    assert_forbidden(plain_client.post(f"/channels/{channel.pk}/inline/", {"weight": "9"}))
    assert Channel.objects.get().weight == 1


def test_it_rejects_get(staff_client: Client, channel: Channel) -> None:
    assert staff_client.get(f"/channels/{channel.pk}/inline/").status_code == 405


def test_it_checks_csrf(csrf_client: Client, channel: Channel) -> None:
    response = csrf_client.post(f"/channels/{channel.pk}/inline/", {"weight": "9"}, headers=HTMX)
    assert response.status_code == 403
    assert Channel.objects.get().weight == 1


def test_htmx_weight_change_returns_the_row(staff_client: Client, channel: Channel) -> None:
    response = staff_client.post(
        f"/channels/{channel.pk}/inline/", {"weight": "12", "next": "/channels/?q=x"}, headers=HTMX
    )
    body = response.content.decode()

    assert response.status_code == 200
    assert body.startswith(f'<tr id="channel-{channel.pk}"')
    assert "<html" not in body
    assert 'aria-label="Weight"\n             value="12">' in body
    assert 'name="next" value="/channels/?q=x"' in body
    assert Channel.objects.get().weight == 12
    # A fragment here, a redirect without htmx: caches must tell them apart.
    assert "HX-Request" in response["Vary"]


def test_htmx_priority_change_returns_the_row(staff_client: Client, channel: Channel) -> None:
    response = staff_client.post(
        f"/channels/{channel.pk}/inline/", {"priority": "-4"}, headers=HTMX
    )
    assert 'aria-label="Priority"\n             value="-4">' in response.content.decode()
    assert Channel.objects.get().priority == -4


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("weight", "-1", "Must be at least 0."),
        ("weight", "heavy", "Must be a whole number."),
        ("priority", "1.5", "Must be a whole number."),
        # Past the limit, the message says the limit.
        ("priority", "99999999999", "Must be at most 2147483647."),
        ("priority", "-99999999999", "Must be at least -2147483647."),
    ],
)
def test_an_invalid_value_returns_the_row_with_its_error(
    staff_client: Client, channel: Channel, field: str, value: str, message: str
) -> None:
    before = snapshot(channel)
    response = staff_client.post(f"/channels/{channel.pk}/inline/", {field: value}, headers=HTMX)
    body = response.content.decode()

    assert response.status_code == 200
    assert body.startswith(f'<tr id="channel-{channel.pk}"')
    assert (
        f'<form class="ch-inline has-error" method="post" action="/channels/{channel.pk}/inline/"'
        in body
    )
    assert f'<ul class="field-errors"><li>{message}</li></ul>' in body
    # What was typed stays in the box, to be corrected.
    assert f'value="{value}" aria-invalid="true"' in body
    assert snapshot(channel) == before


def test_without_htmx_it_redirects_back(staff_client: Client, channel: Channel) -> None:
    response = staff_client.post(
        f"/channels/{channel.pk}/inline/", {"weight": "4", "next": "/channels/?o=weight"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/channels/?o=weight"
    assert Channel.objects.get().weight == 4
    assert "Saved “Primary”." in staff_client.get(response["Location"]).content.decode()


def test_without_htmx_an_error_is_a_message(staff_client: Client, channel: Channel) -> None:
    response = staff_client.post(f"/channels/{channel.pk}/inline/", {"weight": "x"}, follow=True)
    body = response.content.decode()
    assert "“Primary” was not changed. Weight: Must be a whole number." in body
    assert Channel.objects.get().weight == 1


def test_next_cannot_leave_the_site(staff_client: Client, channel: Channel) -> None:
    response = staff_client.post(
        f"/channels/{channel.pk}/inline/", {"weight": "4", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/channels/"


def test_only_weight_and_priority_change_here(staff_client: Client, channel: Channel) -> None:
    staff_client.post(
        f"/channels/{channel.pk}/inline/", {"weight": "2", "name": "Renamed"}, headers=HTMX
    )
    channel.refresh_from_db()
    assert (channel.weight, channel.name) == (2, "Primary")


def test_it_404s_for_a_missing_channel(staff_client: Client) -> None:
    assert staff_client.post("/channels/999/inline/", {"weight": "1"}).status_code == 404
