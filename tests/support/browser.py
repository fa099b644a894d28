"""What the browser tests share: numbered screenshots, the main navigation, signing in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Locator, Page

from tests.support.factories import PASSWORD


@dataclass
class Screenshots:
    """Full-page screenshots numbered in the order the pages were seen: 01-login.png, ..."""

    directory: Path
    taken: list[Path] = field(default_factory=list)

    def take(self, page: Page, name: str) -> Path:
        path = self.directory / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def main_nav(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def sign_in(page: Page, username: str = "alice", password: str = PASSWORD) -> None:
    """Fill in the login page on screen and press Log in."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
