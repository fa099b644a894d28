"""Provider presets for the add form: the usual base URL and type of the services admins reach
for first, so adding a channel from a provider's guide is: pick it, paste the key, fetch models.

Each base URL is what that provider's official (or OpenAI) SDK takes as its base URL; the
admin can still edit it. One table, read by the form, its script (as data attributes) and the
no-JavaScript `?preset=` path alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise as StrPromise
from django.utils.translation import gettext_lazy as _

from channels_admin.models import ChannelType

# The Azure OpenAI API version a new Azure channel starts with: the latest GA data-plane
# version when this was written (the admin can type any other).
AZURE_API_VERSION = "2024-10-21"


@dataclass(frozen=True)
class Preset:
    slug: str
    label: str | StrPromise
    type: str
    # Filled into the address; blank when there is no one address (Azure, "custom").
    base_url: str = ""
    # Shown in the empty address box instead, as a hint.
    placeholder: str = ""
    api_version: str = ""


PRESETS: tuple[Preset, ...] = (
    Preset("openai", "OpenAI", ChannelType.OPENAI, "https://api.openai.com/v1"),
    Preset("deepseek", "DeepSeek", ChannelType.OPENAI, "https://api.deepseek.com/v1"),
    Preset("moonshot", _("Moonshot (Kimi)"), ChannelType.OPENAI, "https://api.moonshot.cn/v1"),
    Preset(
        "dashscope",
        _("Alibaba DashScope (compatible mode)"),
        ChannelType.OPENAI,
        "https://dashscope.aliyuncs.com/compatible-mode/v1",
    ),
    Preset(
        "zhipu", _("Zhipu (BigModel)"), ChannelType.OPENAI, "https://open.bigmodel.cn/api/paas/v4"
    ),
    Preset("siliconflow", "SiliconFlow", ChannelType.OPENAI, "https://api.siliconflow.cn/v1"),
    Preset("openrouter", "OpenRouter", ChannelType.OPENAI, "https://openrouter.ai/api/v1"),
    Preset("groq", "Groq", ChannelType.OPENAI, "https://api.groq.com/openai/v1"),
    Preset("mistral", "Mistral", ChannelType.OPENAI, "https://api.mistral.ai/v1"),
    Preset("xai", "xAI", ChannelType.OPENAI, "https://api.x.ai/v1"),
    Preset(
        "gemini",
        _("Google Gemini (OpenAI-compatible)"),
        ChannelType.OPENAI,
        "https://generativelanguage.googleapis.com/v1beta/openai",
    ),
    Preset("ollama", "Ollama", ChannelType.OPENAI, "http://localhost:11434/v1"),
    Preset("vllm", "vLLM", ChannelType.OPENAI, "http://localhost:8000/v1"),
    Preset("anthropic", "Anthropic", ChannelType.ANTHROPIC, "https://api.anthropic.com"),
    Preset(
        "azure",
        _("Azure OpenAI"),
        ChannelType.AZURE,
        placeholder="https://<resource>.openai.azure.com",
        api_version=AZURE_API_VERSION,
    ),
    Preset(
        "custom",
        _("Custom (OpenAI-compatible)"),
        ChannelType.OPENAI,
        placeholder="https://api.example.net/v1",
    ),
)
PRESETS_BY_SLUG: dict[str, Preset] = {preset.slug: preset for preset in PRESETS}


def find_preset(slug: object) -> Preset | None:
    return PRESETS_BY_SLUG.get(slug) if isinstance(slug, str) else None


def preset_initial(preset: Preset) -> dict[str, str]:
    """The add form's first values for `preset`: its type, address and API version."""
    initial = {"type": str(preset.type), "api_version": preset.api_version}
    if preset.base_url:
        initial["base_url"] = preset.base_url
    return initial
