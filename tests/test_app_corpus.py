"""The 语料库 page in-process (AppTest): list and open documents, upload several files, remove one, rebuild."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
PAGE = "ui/corpus.py"
TIMEOUT = 180
GOOD = ("2024年度某某支部书记抓基层党建工作述职报告\n\n"
        "今年以来，我认真履行第一责任人职责，现将抓基层党建工作情况报告如下。\n\n"
        "一、主要做法和成效\n（一）抓实蓝莓示范岗建设。设立示范岗12个，组织党员开展志愿服务36次。\n"
        "二、存在的问题\n一是理论学习不够深入。二是党员教育管理方式单一。\n"
        "三、下一步打算\n一是深化理论武装。二是创新党员教育管理方式。\n")


def _page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=TIMEOUT)
    at.switch_page(PAGE).run(timeout=TIMEOUT)
    assert not at.exception
    return at


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


@pytest.fixture
def own_index(built_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's built index this test may change."""
    data_dir = tmp_path / "data"
    shutil.copytree(built_index_dir, data_dir)
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(data_dir))
    return data_dir


def test_page_lists_documents_with_structure_and_cleaning(use_built_index: Path) -> None:
    at = _page()
    assert [m.label for m in at.metric] == ["范文", "片段", "语义检索"]
    assert at.metric[0].value == "5 篇" and at.metric[2].value == "已启用"
    rows = [e for e in at.expander if "片段" in e.label]
    assert len(rows) == 5 and all("内置范文" in e.label and "述职报告" in e.label for e in rows)
    assert all("_" not in e.label.split(" · ")[0] for e in rows)  # titles, not hashed file names
    opened = next(e for e in rows if "政府办" in e.label)
    texts = [t.value for t in opened.text]
    assert any("〔存在问题〕" in t or "存在问题" in t for t in texts)
    assert any("【广告】" in t and "【水印】" in t for t in texts)  # what cleaning removed, as plain text
    assert not [b for b in at.button if b.label == "删除"]  # built-in documents are not removed here
    assert _button(at, "上传并加入范文库").disabled  # nothing chosen yet


def test_upload_good_and_corrupt_then_remove(own_index: Path) -> None:
    import docx

    document = docx.Document()
    for line in GOOD.replace("蓝莓", "樱桃").splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    at = _page()
    at.file_uploader[0].set_value([
        ("蓝莓报告.txt", GOOD.encode(), "text/plain"),
        ("坏的.docx", b"PK\x03\x04 broken", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("../../樱桃.docx", buffer.getvalue(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ]).run(timeout=TIMEOUT)
    _button(at, "上传并加入范文库").click().run(timeout=TIMEOUT)
    assert not at.exception
    successes = [s.value for s in at.success]
    errors = [e.value for e in at.error]
    assert any("蓝莓报告.txt" in s and "已加入" in s for s in successes)
    assert any("樱桃.docx" in s and "已加入" in s for s in successes)
    assert any("坏的.docx" in e and "损坏" in e for e in errors)
    assert at.metric[0].value == "7 篇"
    rows = [e for e in at.expander if "片段" in e.label]
    assert len(rows) == 7 and "我上传的" in rows[0].label
    stored = [p.name for p in (own_index / "corpus_uploads").iterdir() if not p.name.startswith(".")]
    assert len(stored) == 2 and not any("樱桃" in n or "蓝莓" in n for n in stored)
    # Remove one upload: asks first, then it is gone from the list and the counts.
    _button(at, "删除").click().run(timeout=TIMEOUT)
    assert any("确定" in w.value for w in at.warning)
    _button(at, "确认删除").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert at.metric[0].value == "6 篇" and any("已删除" in s.value for s in at.success)
    assert len([e for e in at.expander if "我上传的" in e.label]) == 1


def test_rebuild_keeps_uploads(own_index: Path) -> None:
    at = _page()
    at.file_uploader[0].set_value([("蓝莓报告.md", GOOD.encode(), "text/markdown")]).run(timeout=TIMEOUT)
    _button(at, "上传并加入范文库").click().run(timeout=TIMEOUT)
    _button(at, "重新建立索引").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert any("共 6 篇范文" in s.value for s in at.success)
    assert any("我上传的" in e.label for e in at.expander)
