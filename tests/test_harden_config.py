"""Hardening: the settings read the project root's .env, never one that happens to be in the current folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.config import REPO_ROOT, SettingSource, env_file_path, load_settings, setting_source


def test_env_file_is_the_project_roots_not_the_current_folders(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """1 stray .env in the working folder (another project's key): 0 settings taken from it."""
    monkeypatch.delenv("SHUZHI_ENV_FILE", raising=False)
    other_project = tmp_path / "other-project"
    other_project.mkdir()
    (other_project / ".env").write_text("SHUZHI_MODEL=not-ours\nOPENAI_API_KEY=sk-other-project\n", encoding="utf-8")
    monkeypatch.chdir(other_project)
    assert env_file_path() == REPO_ROOT / ".env"
    assert (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "app.py").is_file()
    settings = load_settings()
    if not (REPO_ROOT / ".env").is_file():  # a developer's own root .env may set these; the stray one never does
        assert settings.model == "" and settings.openai_api_key.get_secret_value() == ""
    assert settings.model != "not-ours"
    assert setting_source(("SHUZHI_MODEL",)) is not SettingSource.DOTENV or (REPO_ROOT / ".env").is_file()


def test_shuzhi_env_file_points_at_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SHUZHI_ENV_FILE names the file read, and the settings page reports values from it as .env 文件."""
    env = tmp_path / "team.env"
    env.write_text("SHUZHI_MODEL=team-model\nSHUZHI_TIMEOUT_S=15\n", encoding="utf-8")
    monkeypatch.setenv("SHUZHI_ENV_FILE", str(env))
    settings = load_settings()
    assert settings.model == "team-model" and settings.timeout_s == 15
    assert setting_source(("SHUZHI_MODEL",)) is SettingSource.DOTENV
    # Explicit values still win over the file.
    assert load_settings(model="explicit").model == "explicit"


def test_a_missing_env_file_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_ENV_FILE", str(tmp_path / "absent.env"))
    assert load_settings().model == ""
    assert setting_source(("SHUZHI_MODEL",)) is SettingSource.DEFAULT
