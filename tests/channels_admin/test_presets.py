"""Provider presets: one table fills the add form's type and address, with the script or
with `?preset=` and no JavaScript."""

from __future__ import annotations

import pytest
from django.test import Client

from channels_admin.presets import PRESETS, PRESETS_BY_SLUG
from channels_admin.validation import base_url_type_problem, clean_base_url

pytestmark = pytest.mark.django_db

EXPECTED = {
    "openai": "https://api.openai.com/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "moonshot": "https://api.moonshot.cn/v1",
    "dashscope": "https://dashscope.aliyuncs.com/compatible-mode/v1",
    "zhipu": "https://open.bigmodel.cn/api/paas/v4",
    "siliconflow": "https://api.siliconflow.cn/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "groq": "https://api.groq.com/openai/v1",
    "mistral": "https://api.mistral.ai/v1",
    "xai": "https://api.x.ai/v1",
    "gemini": "https://generativelanguage.googleapis.com/v1beta/openai",
    "ollama": "http://localhost:11434/v1",
    "vllm": "http://localhost:8000/v1",
    "anthropic": "https://api.anthropic.com",
    "azure": "",
    "custom": "",
}


def test_the_table_lists_the_common_providers_with_their_usual_addresses() -> None:
    assert {preset.slug: preset.base_url for preset in PRESETS} == EXPECTED
    assert PRESETS_BY_SLUG["anthropic"].type == "anthropic"
    assert PRESETS_BY_SLUG["azure"].type == "azure"
    assert PRESETS_BY_SLUG["azure"].api_version == "2024-10-21"


@pytest.mark.parametrize("preset", [p for p in PRESETS if p.base_url], ids=lambda p: p.slug)
def test_every_preset_address_passes_its_own_type_rules(preset: object) -> None:
    url, problem = clean_base_url(preset.base_url)  # type: ignore[attr-defined]
    assert problem is None and url is not None
    assert base_url_type_problem(url, preset.type) is None  # type: ignore[attr-defined]


def test_the_add_page_offers_each_preset_with_what_it_fills(staff_client: Client) -> None:
    body = staff_client.get("/channels/add/").content.decode()
    assert '<select name="preset" id="id_preset" data-preset-select>' in body
    assert (
        '<option value="deepseek" data-type="openai" data-base-url="https://api.deepseek.com/v1"'
        in body
    )
    assert 'data-placeholder="https://&lt;resource&gt;.openai.azure.com"' in body
    assert 'data-api-version="2024-10-21"' in body
    assert "/static/channels_admin/presets.js" in body
    # The no-JavaScript way: a GET form with a "Fill in" button.
    assert '<form method="get" action="/channels/add/" class="ch-preset-form">' in body


def test_a_preset_fills_the_add_form_without_javascript(staff_client: Client) -> None:
    body = staff_client.get("/channels/add/?preset=deepseek").content.decode()
    assert 'name="base_url" value="https://api.deepseek.com/v1"' in body
    assert '<option value="deepseek" data-type="openai"' in body
    assert 'value="deepseek" data-type="openai" data-base-url="https://api.deepseek.com/v1"' in body
    assert " selected>DeepSeek</option>" in body
    assert '<option value="openai" selected>OpenAI-compatible</option>' in body


def test_the_azure_preset_fills_the_type_and_api_version(staff_client: Client) -> None:
    body = staff_client.get("/channels/add/?preset=azure").content.decode()
    assert '<option value="azure" selected>Azure OpenAI</option>' in body
    assert 'name="api_version" value="2024-10-21"' in body


def test_the_anthropic_preset_fills_an_address_without_v1(staff_client: Client) -> None:
    body = staff_client.get("/channels/add/?preset=anthropic").content.decode()
    assert '<option value="anthropic" selected>Anthropic</option>' in body
    assert 'name="base_url" value="https://api.anthropic.com"' in body


@pytest.mark.parametrize("preset", ["nope", "", "DeepSeek"])
def test_an_unknown_preset_shows_the_plain_form(staff_client: Client, preset: str) -> None:
    response = staff_client.get(f"/channels/add/?preset={preset}")
    assert response.status_code == 200
    assert 'name="base_url" value=' not in response.content.decode()


def test_the_edit_page_has_no_preset_choice(staff_client: Client, channel: object) -> None:
    body = staff_client.get(f"/channels/{channel.pk}/?preset=deepseek").content.decode()  # type: ignore[attr-defined]
    assert "data-preset-select" not in body
    assert "api.deepseek.com" not in body


def test_the_preset_script_is_served(client: Client) -> None:
    response = client.get("/static/channels_admin/presets.js")
    assert response.status_code == 200
    script = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert b"data-preset-select" in script
    assert b"://" not in script  # nothing fetched from elsewhere: no CDN


def test_the_provider_choice_speaks_simplified_chinese(staff_client: Client) -> None:
    body = staff_client.get(
        "/channels/add/", headers={"Accept-Language": "zh-hans"}
    ).content.decode()
    assert "选择服务商…" in body
    assert "阿里云百炼 DashScope" in body and "兼容模式" in body
    assert "每行一个" in body
