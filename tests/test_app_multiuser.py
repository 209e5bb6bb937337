"""The app with several users in-process (AppTest, SHUZHI_MULTI_USER=true): st.login users each get their own
workspace (nobody logged in sees only the login page), a browser without login gets its ?w=… workspace, and only
SHUZHI_ADMINS may change the 语料库."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from shuzhi.api import Workspace, user_folder_name

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
TIMEOUT = 180
AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "test-cookie-secret",
                 "client_id": "shuzhi", "client_secret": "not-a-secret",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}


@pytest.fixture
def multi_user(own_index: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHUZHI_MULTI_USER", "true")
    monkeypatch.setenv("SHUZHI_ADMINS", "zhang@example.cn")
    return own_index


def _app(user: dict[str, Any] | None = None, *, login: bool = True, w: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if login:
        at.secrets.update(AUTH)
    if user is not None:
        at.user = user
    if w is not None:
        at.query_params["w"] = w
    at.run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    return "\n".join([*(m.value for m in at.markdown), *(c.value for c in at.caption), *(i.value for i in at.info),
                      *(e.value for e in at.error)])


def _notes_of(data_dir: Path, user_id: str) -> list[str]:
    ws = Workspace.open(data_dir).for_user(user_id)
    return [ws.open_session(s.id).notes for s in ws.list_sessions()]


def test_nobody_logged_in_sees_only_the_login_page(multi_user: Path) -> None:
    at = _app({"is_logged_in": False})
    assert "请先登录" in _texts(at)
    assert [b.label for b in at.button] == ["登录"] or "Authlib" in _texts(at)
    assert not at.text_area  # no page of the app runs
    assert not (multi_user / "users").exists() and not (multi_user / "workspace.sqlite3").exists()


def test_logged_in_users_have_their_own_workspaces_and_only_admins_change_the_corpus(multi_user: Path) -> None:
    zhang = _app({"is_logged_in": True, "email": "Zhang@Example.cn", "sub": "u-1"})
    assert "用户：Zhang@Example.cn" in _texts(zhang) and "范文库管理员" in _texts(zhang)
    zhang.text_area(key="notes_text").set_value("- 张的笔记：发展党员2名").run(timeout=TIMEOUT)
    li = _app({"is_logged_in": True, "sub": "li-sub-42"})  # no e-mail: the provider's sub
    assert li.text_area(key="notes_text").value == ""  # not 张's notes
    li.text_area(key="notes_text").set_value("- 李的笔记：走访群众30户").run(timeout=TIMEOUT)
    assert _notes_of(multi_user, "Zhang@Example.cn") == ["- 张的笔记：发展党员2名"]
    assert _notes_of(multi_user, "li-sub-42") == ["- 李的笔记：走访群众30户"]
    assert (multi_user / "users" / user_folder_name("li-sub-42") / "workspace.sqlite3").is_file()
    assert not (multi_user / "workspace.sqlite3").exists()

    zhang.switch_page("ui/corpus.py").run(timeout=TIMEOUT)
    li.switch_page("ui/corpus.py").run(timeout=TIMEOUT)
    assert not zhang.exception and not li.exception
    assert "上传并加入范文库" in [b.label for b in zhang.button] and "重新建立索引" in [b.label for b in zhang.button]
    assert not [b for b in li.button if b.label in ("上传并加入范文库", "重新建立索引", "删除")]
    assert "只有管理员可以上传、删除范文或重新建立索引" in _texts(li)
    li.switch_page("ui/settings.py").run(timeout=TIMEOUT)
    assert "重新索引" not in [b.label for b in li.button]
    assert str(multi_user / "users" / user_folder_name("li-sub-42")) in _texts(li).replace("\\", "")


def test_without_login_a_browser_keeps_its_workspace_in_the_address(multi_user: Path) -> None:
    first = _app(login=False)
    wid = first.query_params["w"][0] if isinstance(first.query_params["w"], list) else first.query_params["w"]
    assert len(wid) >= 16 and "本浏览器自己的工作区" in _texts(first) and "范文库只读" in _texts(first)
    first.text_area(key="notes_text").set_value("- 浏览器甲的笔记").run(timeout=TIMEOUT)
    again = _app(login=False, w=wid)  # F5 or a bookmark: the same ?w=…
    assert again.text_area(key="notes_text").value == "- 浏览器甲的笔记"
    other = _app(login=False)
    assert other.text_area(key="notes_text").value == ""
    hostile = _app(login=False, w="../../etc")  # not a workspace id: a new one of its own, nothing outside users/
    assert hostile.query_params["w"] != "../../etc" and hostile.text_area(key="notes_text").value == ""
    assert sorted(p.name for p in multi_user.iterdir() if p.name.startswith("users")) == ["users"]
