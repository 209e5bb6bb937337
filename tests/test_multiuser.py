"""Several users on one data directory (SHUZHI_MULTI_USER): each user's own store, one shared index,
identities that can never name a path outside <data_dir>/users/, and corpus changes for admins only."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.api import (
    NOT_ADMIN_MESSAGE,
    ModelOverrides,
    ShuzhiError,
    Workspace,
    load_settings,
    user_folder_name,
)
from shuzhi.config import Settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
REPORT = ("2024年度某某支部书记抓基层党建工作述职报告\n\n今年以来，我认真履行第一责任人职责，现将抓基层党建工作情况报告如下。\n\n"
          "一、主要做法和成效\n（一）抓实蓝莓示范岗建设。设立示范岗12个，组织党员开展志愿服务36次。\n"
          "二、存在的问题\n一是理论学习不够深入，学用结合不紧。二是党员教育管理方式单一。\n"
          "三、下一步打算\n一是深化理论武装。二是创新党员教育管理方式，增强吸引力。\n")


def _settings(data_dir: Path, **values: object) -> Settings:
    return Settings(data_dir=data_dir, corpus_dirs=[CORPUS], embedder="none", **values)  # type: ignore[arg-type]


@pytest.fixture
def base(tmp_path: Path) -> Workspace:
    ws = Workspace(_settings(tmp_path / "data", multi_user=True, admins="boss@example.cn, 管理员"))
    ws.build_index()  # the process itself (no user) builds the shared index
    return ws


def test_each_user_has_their_own_store_and_shares_the_index(base: Workspace, tmp_path: Path) -> None:
    base = base.with_settings(base.settings)  # as the app does on every rerun
    alice, bob = base.for_user("alice@example.cn"), base.for_user("bob")
    a = alice.create_session(title="甲", notes="- 甲支部：发展党员2名")
    b = bob.create_session(title="乙", notes="- 乙支部：发展党员7名")
    assert [s.id for s in alice.list_sessions()] == [a]
    assert [s.id for s in bob.list_sessions()] == [b]
    assert alice.store.latest_session_id() == a and bob.store.latest_session_id() == b
    with pytest.raises(ShuzhiError):
        bob.open_session(a)  # another user's session id opens nothing
    assert not (tmp_path / "data" / "workspace.sqlite3").exists()  # the single-user store is not even opened
    assert alice.corpus_index is base.corpus_index is bob.corpus_index
    assert alice.search("志愿服务") and bob.search("志愿服务")
    users = tmp_path / "data" / "users"
    assert alice.store.path == users / user_folder_name("alice@example.cn") / "workspace.sqlite3"
    assert alice.store.path != bob.store.path and alice.store.path.is_file() and bob.store.path.is_file()
    # The same identity again (the next rerun, another tab) is the same store; a session's model settings keep it.
    assert base.for_user(" alice@example.cn ").store is alice.store
    own_model = alice.with_model(ModelOverrides.create(model="m1"))
    assert own_model.store is alice.store and own_model.user_id == "alice@example.cn"
    assert own_model.with_settings(alice.settings).store is alice.store
    # Another process on the same data directory finds each user's work where they left it.
    again = Workspace(_settings(tmp_path / "data", multi_user=True)).for_user("bob")
    assert again.open_session(b).notes == "- 乙支部：发展党员7名"
    assert [s.id for s in again.list_sessions()] == [b]


def test_single_user_workspace_is_unchanged(tmp_path: Path) -> None:
    ws = Workspace(_settings(tmp_path / "data"))
    sid = ws.create_session(notes="- 单人")
    assert ws.user_id is None and ws.is_admin
    assert ws.store.path == tmp_path / "data" / "workspace.sqlite3"
    assert ws.store.latest_session_id() == sid
    assert not (tmp_path / "data" / "users").exists()


@pytest.mark.parametrize("user_id", [
    pytest.param("../x", id="parent"),
    pytest.param("..", id="dotdot"),
    pytest.param(".", id="dot"),
    pytest.param("../../../../etc/passwd", id="deep-parent"),
    pytest.param("/etc/passwd", id="absolute"),
    pytest.param("a/../../b", id="inner-parent"),
    pytest.param("..\\..\\windows", id="backslashes"),
    pytest.param("C:\\Users\\x", id="drive"),
    pytest.param("．．／x", id="fullwidth"),
    pytest.param("~root", id="tilde"),
    pytest.param("张三@单位.cn", id="chinese"),
    pytest.param("x" * 256, id="longest"),
])
def test_an_identity_never_escapes_the_users_folder(base: Workspace, tmp_path: Path, user_id: str) -> None:
    users = (tmp_path / "data" / "users").resolve()
    folder = base.user_dir(user_id)
    name = user_folder_name(user_id)
    assert folder.parent == tmp_path / "data" / "users" and folder.name == name
    assert "/" not in name and "\\" not in name and name not in (".", "..") and not name.startswith(".")
    assert len(name) <= 60
    ws = base.for_user(user_id)
    ws.create_session(notes="- 路径测试")
    assert ws.store.path.resolve().parent.parent == users
    assert not (tmp_path / "x").exists() and not (tmp_path / "data" / "x").exists()


def test_different_identities_never_share_a_folder() -> None:
    ids = ["a/b", "a_b", "a b", "a:b", "A_b", "../a_b", "a_b ", "ａ_b"]
    names = {user_folder_name(i) for i in ids}
    assert len(names) == len(ids) - 1  # "a_b " is "a_b" (spaces around an identity do not count)
    assert user_folder_name("a_b ") == user_folder_name("a_b")


@pytest.mark.parametrize("user_id", [
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("a\nb", id="newline"),
    pytest.param("x" * 257, id="too-long"),
])
def test_an_unusable_identity_is_a_chinese_error(base: Workspace, user_id: str) -> None:
    with pytest.raises(ShuzhiError) as caught:
        base.for_user(user_id)
    assert "无法识别当前用户" in caught.value.user_message


def test_corpus_changes_are_refused_for_non_admins(base: Workspace, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    boss = base.for_user("BOSS@example.cn")  # compared without case
    assert boss.is_admin and base.for_user("管理员").is_admin
    added = boss.add_corpus_files([("蓝莓.txt", REPORT.encode())]).added
    assert len(added) == 1
    documents = len(base.corpus_documents())
    bob = base.for_user("bob")
    assert not bob.is_admin
    refusals = {
        "add_corpus_files": lambda: bob.add_corpus_files([("樱桃.txt", REPORT.replace("蓝莓", "樱桃").encode())]),
        "remove_corpus_document": lambda: bob.remove_corpus_document(added[0].doc_id),
        "rebuild_index": lambda: bob.rebuild_index(),
        "build_index": lambda: bob.build_index(rebuild=True),
        "build_index-add": lambda: bob.build_index([CORPUS], add=True),
    }
    for name, change in refusals.items():
        with pytest.raises(ShuzhiError) as caught:
            change()
        assert caught.value.user_message == NOT_ADMIN_MESSAGE, name
        assert "管理员" in caught.value.user_message and "bob" in caught.value.detail
    model_bob = bob.with_model(ModelOverrides.create(model="m"))  # a session's own model changes nothing
    with pytest.raises(ShuzhiError):
        model_bob.rebuild_index()
    assert len(base.corpus_documents()) == documents  # nothing changed
    assert len([p for p in (data_dir / "corpus_uploads").iterdir() if not p.name.startswith(".")]) == 1
    assert bob.search("蓝莓示范岗")  # reading the shared corpus is for everyone
    assert boss.remove_corpus_document(added[0].doc_id)


@pytest.mark.parametrize(("multi_user", "admins", "user", "admin"), [
    pytest.param(False, "", "anyone", True, id="single-user-everyone"),
    pytest.param(False, "boss", "anyone", True, id="single-user-ignores-admins"),
    pytest.param(True, "", "anyone", False, id="multi-user-empty-list-nobody"),
    pytest.param(True, "boss, chief ", "chief", True, id="listed"),
    pytest.param(True, "boss", "bossy", False, id="not-a-prefix-match"),
    pytest.param(True, "", None, True, id="no-user-is-the-process"),
])
def test_who_may_change_the_corpus(tmp_path: Path, multi_user: bool, admins: str, user: str | None,
                                   admin: bool) -> None:
    ws = Workspace(_settings(tmp_path / "data", multi_user=multi_user, admins=admins))
    assert (ws.for_user(user) if user is not None else ws).is_admin is admin


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().multi_user is False and load_settings().admins == ""
    monkeypatch.setenv("SHUZHI_MULTI_USER", "true")
    monkeypatch.setenv("SHUZHI_ADMINS", "a@x.cn,b")
    settings = load_settings()
    assert settings.multi_user is True and settings.admins == "a@x.cn,b"
    assert Workspace(settings).for_user("b").is_admin and not Workspace(settings).for_user("c").is_admin


def test_a_store_that_cannot_open_fails_where_it_is_used_in_chinese(base: Workspace) -> None:
    (base.user_dir("carol") / "workspace.sqlite3").mkdir(parents=True)  # in the way of carol's store
    carol = base.for_user("carol")  # opening the workspace does not touch the store yet
    assert carol.is_admin is False and carol.search("志愿服务")  # what needs no store keeps working
    with pytest.raises(ShuzhiError) as caught:
        carol.list_sessions()
    assert "工作区数据库" in caught.value.user_message
    assert base.for_user("dave").list_sessions() == []  # other users are not affected
