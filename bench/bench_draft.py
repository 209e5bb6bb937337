"""Drafting throughput: sections drafted one at a time vs concurrently, against a local stub LLM.

Prints ratios measured in one run (never a test). The stub answers each request after a fixed
delay, standing in for a remote model's latency:

    .venv/bin/python bench/bench_draft.py [delay_seconds]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from llm_stub import StubLLMServer  # noqa: E402

from shuzhi.config import Settings  # noqa: E402
from shuzhi.index.search import CorpusIndex  # noqa: E402
from shuzhi.llm import ChatClient, LLMConfig  # noqa: E402
from shuzhi.notes import parse_notes, similarity_classifier  # noqa: E402
from shuzhi.writing.draft import prepare_jobs, run_jobs  # noqa: E402
from shuzhi.writing.plan import build_plan  # noqa: E402


def main() -> None:
    delay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5

    def slow_reply(body: dict) -> str:
        time.sleep(delay)
        return "一是按笔记写成的段落。"

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), corpus_dirs=[REPO / "corpus"])
        index = CorpusIndex(settings)
        index.build()
        notes_text = (REPO / "examples" / "notes_jiguan_2024.md").read_text(encoding="utf-8")
        plan = build_plan(parse_notes(notes_text, classify=similarity_classifier(index)))
        with StubLLMServer(responder=slow_reply) as stub:
            client = ChatClient(LLMConfig(base_url=stub.base_url, model="stub-model", api_key="bench"))
            jobs = prepare_jobs(plan, index, settings)  # retrieval once, outside the timed part
            timings = {}
            for workers in (1, 3, 6):
                start = time.perf_counter()
                drafts = run_jobs(jobs, client, workers)
                timings[workers] = time.perf_counter() - start
                assert not any(d.error for d in drafts)
    sections = len(jobs)
    print(f"{sections} sections, stub latency {delay:.2f} s per request")
    for workers, seconds in timings.items():
        print(f"  max_concurrency={workers}: {seconds:.2f} s  (speed-up ×{timings[1] / seconds:.2f} vs 1)")


if __name__ == "__main__":
    main()
