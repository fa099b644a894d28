"""Only an allow-list of client headers reaches an upstream; passed answer headers are scrubbed."""

from __future__ import annotations

from tests.support.factories import make_channel, make_token
from tests.support.fake_upstream import FakeUpstream, running_upstream
from tests.support.live_gateway import Gateway

# Each of these selects an account or carries a credential at some upstream.
ACCOUNT_AND_CREDENTIAL_HEADERS = {
    "OpenAI-Organization": "org-bogus",
    "OpenAI-Project": "proj-bogus",
    "x-goog-api-key": "goog-client-key",
    "api-key": "azure-client-key",
    "x-api-key": "anthropic-client-key",
    "Cookie": "session=client-cookie",
    "Proxy-Authorization": "Basic Y2xpZW50OnNlY3JldA==",
    "X-Forwarded-For": "10.0.0.1",
    "Forwarded": "for=10.0.0.1",
    "X-Real-IP": "10.0.0.1",
    "X-Amz-Security-Token": "aws-token",
    "X-Custom-Anything": "whatever",
}
# What an upstream needs to understand the request: these pass.
MEANINGFUL_HEADERS = {
    "OpenAI-Beta": "assistants=v2",
    "X-Stainless-Lang": "python",
    "X-Stainless-Package-Version": "1.99.0",
    "Anthropic-Version": "2023-06-01",
    "Idempotency-Key": "retry-42",
    "User-Agent": "my-app/1.0",
    "Accept": "application/json",
}


def test_only_allow_listed_headers_reach_the_upstream(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    make_channel(upstream)
    key = make_token().key

    response = gateway.post_chat(
        key, headers={**ACCOUNT_AND_CREDENTIAL_HEADERS, **MEANINGFUL_HEADERS}
    )

    assert response.status_code == 200
    sent = upstream.requests[-1].headers
    for name in ACCOUNT_AND_CREDENTIAL_HEADERS:
        assert name.lower() not in sent, name
    for name, value in MEANINGFUL_HEADERS.items():
        assert sent[name.lower()] == value, name
    assert sent["authorization"] == f"Bearer {upstream.api_key}"
    assert sent["x-tollgate-hops"] == "1"
    assert "client-cookie" not in repr(sent)


def test_the_sdks_organization_and_project_never_reach_the_upstream(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    # The fake upstream, like OpenAI, answers 401 to an organisation its key is not in.
    make_channel(upstream)
    key = make_token().key
    client = gateway.client(key, organization="org-bogus", project="proj-bogus")

    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[])

    assert reply.choices[0].message.content == "hello from upstream"
    assert "openai-organization" not in upstream.requests[-1].headers
    assert "openai-project" not in upstream.requests[-1].headers


def test_passed_answer_headers_are_scrubbed(gateway: Gateway) -> None:
    key_of_channel = "sk-header-leak-key-9f8e7d6c5b4a39281706"
    with running_upstream(api_key=key_of_channel) as leaky:
        host = leaky.base_url.split("//")[1]
        leaky.extra_headers = [
            (b"content-disposition", f'attachment; filename="{key_of_channel}@{host}"'.encode()),
            (b"openai-version", f"2020-10-01 ({leaky.v1})".encode()),
        ]
        make_channel(leaky)
        key = make_token().key

        response = gateway.post_chat(key)

    assert response.status_code == 200
    passed = repr(response.headers.multi_items())
    assert response.headers["content-disposition"] == 'attachment; filename="[redacted]@[redacted]"'
    assert response.headers["openai-version"] == "2020-10-01 ([redacted])"
    assert key_of_channel not in passed
    assert host not in passed
