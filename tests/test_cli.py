"""The command line as a user drives it: parse, index, search, check, export; errors in Chinese."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS_DIR, EXAMPLES_DIR, run_cli

SEEDS = sorted(CORPUS_DIR.glob("*.txt"))
DIRT = ("##paid", "QQ", "酷乐", "会员", "订阅", "禁止外传")


@pytest.mark.parametrize("seed", SEEDS, ids=[s.name[:3] for s in SEEDS])
def test_parse_json_is_clean_and_complete(seed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "parse", str(seed), "--json")
    assert code == 0
    data = json.loads(stdout)
    content = json.dumps({k: data[k] for k in ("title", "sections")}, ensure_ascii=False)
    for dirt in DIRT:
        assert dirt not in content, dirt
    kinds = {s["kind"] for s in data["sections"]}
    assert {"achievements", "problems", "next_steps"} <= kinds
    for section in data["sections"]:
        assert {"kind", "heading", "theme", "text", "points"} <= section.keys()
    assert isinstance(data["removed"], list) and data["year"]
    if seed.name.startswith(("000", "003")):
        assert "causes" in kinds
    if seed.name.startswith("000"):
        assert "机关基层党组织建设" in content
    if seed.name.startswith("003"):
        assert any("QQ" in r["text"] for r in data["removed"])  # what cleaning took out is reported


def test_parse_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "parse", str(SEEDS[3]))
    assert code == 0 and "清洗移除" in stdout and "causes" in stdout


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        pytest.param(b"", "empty.txt", "是空的", id="empty"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "fake.txt", "不是文本文件", id="binary"),
        pytest.param(b"%PDF-1.4", "report.pdf", "暂不支持", id="unsupported"),
        pytest.param(b"PK\x03\x04 not really a zip", "broken.docx", "损坏", id="corrupt-docx"),
    ],
)
def test_bad_input_gets_chinese_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes,
                                      name: str, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, stdout, stderr = run_cli(capsys, "parse", str(path))
    assert code == 2 and stdout == ""
    assert stderr.startswith("错误：") and message in stderr and name in stderr


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run_cli(capsys, "parse", "/nonexistent/report.txt")
    assert code == 2 and "错误：" in stderr and "report.txt" in stderr


def test_index_twice_then_add_and_delete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    code, stdout, _ = run_cli(capsys, "index", "--corpus", str(corpus), "--json")
    first = json.loads(stdout)
    assert code == 0 and first["documents"] == 5 and first["embedded"] > 0
    code, stdout, _ = run_cli(capsys, "index", "--corpus", str(corpus))
    assert code == 0 and "本次新嵌入 0 个" in stdout and "没有新的" in stdout
    extra = corpus / "extra.md"
    extra.write_text("# 2024年第五党支部书记抓基层党建工作述职报告\n\n## 一、主要做法和成效\n\n"
                     "（一）建强战斗堡垒。一是推行“支部+网格”工作法，把党小组建在楼栋上。"
                     "二是设立党员责任区，亮明身份接受群众监督。\n\n## 二、存在问题及原因\n\n"
                     "一是书记本人统筹推进网格党建用力不均。\n\n## 三、下一步打算\n\n一是完善楼栋党小组运行机制。\n",
                     encoding="utf-8")
    code, stdout, _ = run_cli(capsys, "index", "--corpus", str(corpus), "--json")
    added = json.loads(stdout)
    assert added["documents"] == 6 and 0 < added["embedded"] < first["embedded"]
    code, stdout, _ = run_cli(capsys, "search", "支部+网格 楼栋党小组", "--json", "-k", "3")
    assert any(h["source"] == "extra.md" for h in json.loads(stdout))
    extra.unlink()
    code, stdout, _ = run_cli(capsys, "index", "--corpus", str(corpus), "--json")
    removed = json.loads(stdout)
    assert removed["documents"] == 5 and removed["removed"] > 0 and removed["embedded"] == 0
    code, stdout, _ = run_cli(capsys, "search", "支部+网格 楼栋党小组", "--json", "-k", "10")
    assert all(h["source"] != "extra.md" for h in json.loads(stdout))


def _queries() -> list[tuple[str, str]]:
    with (EXAMPLES_DIR / "queries.tsv").open(encoding="utf-8") as fh:
        return [(row["query"], row["kind"]) for row in csv.DictReader(fh, delimiter="\t")]


def test_search_eval_queries(use_built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    right = 0
    for query, kind in _queries():
        code, stdout, _ = run_cli(capsys, "search", query, "--json")
        hits = json.loads(stdout)
        assert code == 0 and hits
        assert {"text", "kind", "theme", "source", "heading_path", "score"} <= hits[0].keys()
        right += hits[0]["kind"] == kind
        code, stdout, _ = run_cli(capsys, "search", query, "--kind", kind, "--json", "-k", "8")
        assert {h["kind"] for h in json.loads(stdout)} == {kind}
    assert right >= 6


def test_search_empty_query_is_refused(use_built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run_cli(capsys, "search", "   ")
    assert code == 2 and "请输入检索内容" in stderr


def test_check_is_fully_usable_without_a_model(use_built_index: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "draft.md"
    draft.write_text(
        "# 2024年市统计局机关党支部书记抓基层党建工作述职报告\n\n"
        "2024年，我认真履行第一责任人职责，现将情况报告如下：\n\n## 一、主要做法和成效\n\n"
        "一是全年集中学习24次，专题研讨8次。二是发展党员2名。三是开展谈心谈话56人次。\n\n"
        "## 二、存在问题及原因\n\n一是理论学习有时候走过场。分析存在上述问题的原因：一是我思想认识不到位。\n\n"
        "## 三、下一步工作思路和措施\n\n一是成立青年理论学习小组。\n\n以上是我的述职报告，请批评指正。\n",
        encoding="utf-8")
    notes = EXAMPLES_DIR / "notes_jiguan_2024.md"
    code, stdout, _ = run_cli(capsys, "check", str(draft), "--notes", str(notes), "--json")
    report = json.loads(stdout)
    assert code == 1 and report["blocking"]
    assert [i["raw"] for i in report["invented"]] == ["56人次"]
    statuses = {e["figure_raw"]: e["status"] for e in report["ledger"]}
    assert statuses["24次"] == "found" and statuses["36次"] == "missing"
    code, stdout, _ = run_cli(capsys, "check", str(draft), "--notes", str(notes))
    assert code == 1 and "56人次" in stdout


def test_export_markdown_to_docx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import docx

    draft = tmp_path / "d.md"
    draft.write_text("# 标题\n\n## 一、主要做法和成效\n\n正文。\n", encoding="utf-8")
    code, stdout, _ = run_cli(capsys, "export", str(draft), "--docx", str(tmp_path / "d.docx"))
    assert code == 0 and docx.Document(str(tmp_path / "d.docx")).paragraphs[0].text == "标题"
    code, _, stderr = run_cli(capsys, "export", str(draft), "--docx", str(tmp_path / "no" / "d.docx"))
    assert code == 2 and "错误：" in stderr


def test_console_entry_points() -> None:
    for command in ([sys.executable, "-m", "shuzhi", "--version"], [Path(sys.executable).with_name("shuzhi"),
                                                                     "--version"]):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0 and "shuzhi" in done.stdout
    done = subprocess.run([sys.executable, "-m", "shuzhi", "parse", "/nonexistent.txt"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 2 and "错误：" in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------- index folders, refused builds, argument errors
def _two_folders(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, seed in ((a, SEEDS[0]), (b, SEEDS[1])):
        folder.mkdir()
        shutil.copy(seed, folder / seed.name)
    return a, b


def test_index_missing_or_empty_corpus_exits_2_and_keeps_the_index(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_EMBEDDER", "none")
    a, b = _two_folders(tmp_path)
    code, stdout, _ = run_cli(capsys, "index", "--corpus", str(a), "--corpus", str(b))
    assert code == 0 and f"范文目录：{a.resolve()}、{b.resolve()}" in stdout
    missing = tmp_path / "nonexist"
    code, stdout, stderr = run_cli(capsys, "index", "--corpus", str(missing))
    assert code == 2 and stdout == ""
    assert stderr.startswith("错误：") and str(missing) in stderr and "索引未改动" in stderr
    (tmp_path / "pdfs").mkdir()
    (tmp_path / "pdfs" / "scan.pdf").write_bytes(b"%PDF-1.4")
    code, _, stderr = run_cli(capsys, "index", "--corpus", str(tmp_path / "pdfs"), "--rebuild")
    assert code == 2 and "没有找到可用的范文" in stderr and "scan.pdf" in stderr
    # A bare `shuzhi index` re-indexes the remembered folders: nothing was lost.
    code, stdout, _ = run_cli(capsys, "index", "--json")
    report = json.loads(stdout)
    assert code == 0 and report["documents"] == 2 and report["removed"] == 0
    assert report["corpus_dirs"] == [str(a.resolve()), str(b.resolve())]
    code, stdout, _ = run_cli(capsys, "search", "主题教育", "--json", "-k", "10")
    assert code == 0 and {h["source"] for h in json.loads(stdout)} <= {SEEDS[0].name, SEEDS[1].name}


def test_index_corpus_replaces_and_add_extends_the_remembered_folders(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_EMBEDDER", "none")
    a, b = _two_folders(tmp_path)
    code, stdout, _ = run_cli(capsys, "index", "--corpus", str(a), "--json")
    assert code == 0 and json.loads(stdout)["documents"] == 1
    code, stdout, _ = run_cli(capsys, "index", "--corpus", str(b), "--add", "--json")
    added = json.loads(stdout)
    assert added["documents"] == 2 and added["removed"] == 0
    assert added["corpus_dirs"] == [str(a.resolve()), str(b.resolve())]
    code, stdout, _ = run_cli(capsys, "index", "--corpus", str(a), "--add", "--json")  # already there: no duplicate
    assert json.loads(stdout)["corpus_dirs"] == [str(a.resolve()), str(b.resolve())]
    code, stdout, _ = run_cli(capsys, "index", "--corpus", str(b), "--json")  # without --add: replaces
    replaced = json.loads(stdout)
    assert replaced["documents"] == 1 and replaced["removed"] > 0 and replaced["corpus_dirs"] == [str(b.resolve())]
    code, _, stderr = run_cli(capsys, "index", "--add")
    assert code == 2 and "--corpus" in stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(("-k", "0"), "1 到 50", id="k-zero"),
        pytest.param(("-k", "-1"), "1 到 50", id="k-negative"),
        pytest.param(("-k", "51"), "1 到 50", id="k-too-many"),
        pytest.param(("-k", "五"), "1 到 50", id="k-not-a-number"),
        pytest.param(("--theme", "不存在的主题"), "纪律建设/党风廉政", id="theme-unknown"),
        pytest.param(("--kind", "nonsense"), "problems", id="kind-unknown"),
        pytest.param(("--year", "二〇二四"), "--year", id="year-not-int"),
    ],
)
def test_search_bad_arguments_are_refused_in_chinese(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                                     expected: str) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli(capsys, "search", "主题教育", *args)
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    assert err.startswith("错误：参数有误（") and expected in err and "shuzhi search --help" in err
    assert "usage:" not in err and "invalid" not in err


def test_unknown_command_and_missing_argument_errors_are_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, expected in ((("bogus",), "命令"), (("search",), "缺少必需的参数"), (("index", "--nope"), "无法识别的参数")):
        with pytest.raises(SystemExit) as info:
            run_cli(capsys, *argv)
        err = capsys.readouterr().err
        assert info.value.code == 2 and err.startswith("错误：参数有误（") and expected in err, err


def test_search_valid_theme_and_largest_k(use_built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "search", "警示教育", "--theme", "纪律建设/党风廉政", "--json", "-k", "50")
    hits = json.loads(stdout)
    assert code == 0 and hits and {h["theme"] for h in hits} == {"纪律建设/党风廉政"}
