"""The 语料库 page in real headless Chromium: upload a corrupt .docx together with a good report through
the real file picker (the browser's upload request), see the good one listed and the bad one reported."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, REPO, _base_env, _new_page, _settle, _shot, _streamlit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (make test installs it as root)"),
]
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
GOOD = ("2024年度某某支部书记抓基层党建工作述职报告\n"
        "今年以来，我认真履行第一责任人职责，现将抓基层党建工作情况报告如下。\n"
        "一、主要做法和成效\n（一）抓实樱桃先锋站建设。设立先锋站12个，组织党员开展志愿服务36次。\n"
        "二、存在的问题\n一是理论学习不够深入。二是党员教育管理方式单一。\n"
        "三、下一步打算\n一是深化理论武装。二是创新党员教育管理方式。\n")


def _good_docx() -> bytes:
    import docx

    document = docx.Document()
    for line in GOOD.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def corpus_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("browser-corpus") / "data"
    env = _base_env(data_dir)
    subprocess.run([sys.executable, "-m", "shuzhi", "index"], env=env, cwd=REPO, check=True, capture_output=True)
    with _streamlit(env) as url:
        yield url, data_dir


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_upload_corrupt_docx_with_good_report(corpus_app: tuple[str, Path], chromium: Any, tmp_path: Path) -> None:
    url, data_dir = corpus_app
    page = _new_page(chromium)
    page.goto(f"{url}/corpus")
    page.get_by_text("范文列表").wait_for()
    _settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([
        {"name": "樱桃支部述职报告.docx", "mimeType": DOCX_MIME, "buffer": _good_docx()},
        {"name": "损坏的报告.docx", "mimeType": DOCX_MIME, "buffer": b"PK\x03\x04 not a real archive"},
    ])
    page.get_by_text("损坏的报告.docx").first.wait_for()
    _settle(page)
    page.get_by_role("button", name="上传并加入范文库").click()
    page.get_by_text("已加入范文库").first.wait_for()
    _settle(page)
    body = page.inner_text("body")
    assert "「樱桃支部述职报告.docx」已加入范文库" in body
    assert "损坏的报告.docx" in body and "损坏" in body.split("损坏的报告.docx", 1)[1][:80]
    assert "我上传的" in body and "2024年度某某支部书记抓基层党建工作述职报告" in body
    assert "6 篇" in body
    stored = [p.name for p in (data_dir / "corpus_uploads").iterdir() if not p.name.startswith(".")]
    assert len(stored) == 1 and stored[0].endswith(".docx") and "樱桃" not in stored[0]
    _shot(page, tmp_path, "corpus")
    page.close()
