"""Page 设置: this session's model settings (preset, address, model, key, temperature, concurrency) with
测试连接; where the work is saved and the log file; the example library's index.

The model settings typed here live in this browser session's memory only (`ui.state.MODEL_SETTINGS`):
never in the store, a log, the data folder, an export or the page address. Saved drafts are on 草稿历史.
"""

from __future__ import annotations

import streamlit as st

from shuzhi.api import (
    LLMError,
    ModelField,
    ModelOverrides,
    ModelSettingsView,
    SettingSource,
    ShuzhiError,
    load_presets,
)
from ui.common import llm_config, md_escape, model_overrides, show_error, startup_workspace, workspace
from ui.state import MODEL_SETTINGS, PAGE_CORPUS, PAGE_HISTORY

NO_PRESET = ""
# Widget keys of the form (the key's box is emptied once applied).
W_PRESET, W_URL, W_MODEL, W_KEY, W_TEMPERATURE, W_CONCURRENCY = (
    "ms_preset", "ms_base_url", "ms_model", "ms_api_key", "ms_temperature", "ms_concurrency")
FLASH = "ms_flash"  # (kind, message) shown once after 应用 / 恢复
SOURCE_CAPTION = {
    SettingSource.ENV: "来自环境变量（启动时设置）",
    SettingSource.DOTENV: "来自项目文件夹中的 .env 文件",
    SettingSource.PRESET: "来自所选的预设",
    SettingSource.DEFAULT: "默认值",
    SettingSource.SESSION: "本次会话设置（只在本浏览器窗口的内存中）",
}


def _fill_widgets(view: ModelSettingsView, force: bool = False) -> None:
    """The form's boxes show the settings in use (when first shown, or after 恢复)."""
    values = {W_PRESET: str(view.get(ModelField.PROVIDER).value).strip().lower(),
              W_URL: str(view.get(ModelField.BASE_URL).value), W_MODEL: str(view.get(ModelField.MODEL).value),
              W_KEY: "", W_TEMPERATURE: float(view.get(ModelField.TEMPERATURE).value),
              W_CONCURRENCY: int(view.get(ModelField.MAX_CONCURRENCY).value)}
    if values[W_PRESET] not in load_presets():
        values[W_PRESET] = NO_PRESET
    for key, value in values.items():
        if force or key not in st.session_state:
            st.session_state[key] = value


def _fill_preset() -> None:
    preset = load_presets().get(st.session_state.get(W_PRESET) or "")
    if preset is not None:
        st.session_state[W_URL] = preset.base_url
        st.session_state[W_MODEL] = preset.model


def _apply() -> None:
    """The form's values that differ from the started-with settings become this session's model settings."""
    startup = startup_workspace().model_settings_view()
    previous = model_overrides()

    def same(name: ModelField, value: object) -> bool:
        return value == startup.get(name).value

    key = str(st.session_state.get(W_KEY) or "").strip()
    provider = str(st.session_state.get(W_PRESET) or "")
    url = str(st.session_state.get(W_URL) or "").strip()
    model = str(st.session_state.get(W_MODEL) or "").strip()
    temperature = float(st.session_state.get(W_TEMPERATURE, 0.4))
    concurrency = int(st.session_state.get(W_CONCURRENCY, 0))
    start_provider = str(startup.get(ModelField.PROVIDER).value).strip().lower()
    overrides = ModelOverrides(
        provider=None if provider == start_provider else provider,
        base_url=None if same(ModelField.BASE_URL, url) else url,
        model=None if same(ModelField.MODEL, model) else model,
        api_key=ModelOverrides.create(api_key=key).api_key if key else previous.api_key,
        temperature=None if same(ModelField.TEMPERATURE, temperature) else temperature,
        max_concurrency=None if same(ModelField.MAX_CONCURRENCY, concurrency) else concurrency,
    )
    st.session_state[W_KEY] = ""  # the key is kept in the settings, not left in the box
    if overrides.is_empty:
        st.session_state.pop(MODEL_SETTINGS, None)
        st.session_state[FLASH] = ("info", "填写的内容与启动时的设置相同，继续使用启动时的设置。")
        return
    st.session_state[MODEL_SETTINGS] = overrides
    status = workspace().model_status()
    if status.error:
        st.session_state[FLASH] = ("error", f"已记下，但模型设置还不能用：{status.error}")
    elif status.configured:
        st.session_state[FLASH] = ("success", f"已应用：本次会话使用模型「{status.model}」。可点“测试连接”确认能否连通。")
    else:
        st.session_state[FLASH] = ("warning", "已应用，但还没有填写接口地址，需要模型的按钮仍不可用。")


def _reset() -> None:
    st.session_state.pop(MODEL_SETTINGS, None)
    _fill_widgets(startup_workspace().model_settings_view(), force=True)
    st.session_state[FLASH] = ("info", "已恢复为启动时的设置。")


def _source(view: ModelSettingsView, name: ModelField) -> None:
    st.caption(SOURCE_CAPTION[view.get(name).source])


def connection_test() -> None:
    config = llm_config()
    if config is None:
        return
    if not st.button("测试连接", icon=":material/network_check:"):
        return
    try:
        with st.spinner("正在连接模型接口……"):
            models = workspace().test_connection()
    except LLMError as exc:
        st.error(f"连接失败：{exc.user_message}")
        return
    if config.model in models:
        st.success(f"连接成功。接口的模型列表中有「{config.model}」，可以开始起草。")
    else:
        st.warning(f"连接成功。但接口列出的 {len(models)} 个模型中没有「{config.model}」，请核对模型名称。")
    if models:
        st.caption("可用模型：" + "、".join(md_escape(m) for m in models[:30]) + ("……" if len(models) > 30 else ""))


def model_section() -> None:
    st.subheader("大模型接口")
    ws = workspace()
    view = ws.model_settings_view()
    if llm_config() is None:  # a broken configuration is shown by llm_config as an error
        if not view.status.error:
            st.warning("未配置大模型：生成初稿、重新生成、润色/扩写/缩写、自动改写暂不可用；"
                       "提纲、检查、检索、导出不受影响。在下面填写接口后点“应用”。")
    else:
        st.success(f"正在使用：模型「{view.status.model}」，接口 {view.status.display_url}")
    flash = st.session_state.pop(FLASH, None)
    if flash:
        getattr(st, flash[0])(flash[1])
    _fill_widgets(view)
    presets = load_presets()
    with st.container(border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.selectbox("预设的模型服务", [NO_PRESET, *presets], key=W_PRESET,
                     format_func=lambda n: presets[n].label if n in presets else "（不用预设，自己填写）")
        c2.button("填入地址和模型", on_click=_fill_preset, disabled=not st.session_state.get(W_PRESET))
        chosen = presets.get(st.session_state.get(W_PRESET) or "")
        if chosen is not None and chosen.notes:
            st.caption(md_escape(chosen.notes))
        _source(view, ModelField.PROVIDER)
        st.text_input("接口地址", key=W_URL, placeholder="例如 https://api.deepseek.com/v1")
        _source(view, ModelField.BASE_URL)
        st.text_input("模型名称", key=W_MODEL, placeholder="例如 deepseek-chat")
        _source(view, ModelField.MODEL)
        key = view.get(ModelField.API_KEY)
        st.text_input("密钥（API Key）", key=W_KEY, type="password",
                      placeholder="已设置，留空则继续使用" if key.is_set else "未设置；本机的模型（Ollama、vLLM）可以不填")
        st.caption(("已设置 · " if key.is_set else "未设置 · ") + SOURCE_CAPTION[key.source]
                   + "。密钥只留在本浏览器窗口的内存中，不会保存到电脑上，也不会写进日志或导出文件。")
        c3, c4 = st.columns(2)
        c3.number_input("温度（越低越稳妥，越高越多变化）", min_value=0.0, max_value=2.0, step=0.1, key=W_TEMPERATURE)
        with c3:
            _source(view, ModelField.TEMPERATURE)
        c4.number_input("并发节数（同时起草几节）", min_value=0, max_value=16, step=1, key=W_CONCURRENCY,
                        help="0 = 自动：各节同时起草，不超过所选接口的上限（预设中的 max_concurrency；本地 Ollama 为 1）。")
        with c4:
            _source(view, ModelField.MAX_CONCURRENCY)
        b1, b2 = st.columns(2)
        b1.button("应用", type="primary", on_click=_apply, icon=":material/check:", width="stretch")
        b2.button("恢复为启动时的设置", on_click=_reset, disabled=not view.session_overrides, width="stretch")
    connection_test()
    with st.expander("预设的模型服务一览"):
        st.dataframe([{"名称": p.label, "接口地址": p.base_url, "默认模型": p.model} for p in presets.values()],
                     hide_index=True, width="stretch")


def storage_section() -> None:
    ws = workspace()
    st.subheader("资料保存在哪里")
    if ws.user_id is None:
        st.markdown("笔记、提纲和每一节草稿都随写随存在这台电脑上（不需要点保存），下次打开会回到上次的位置：")
    else:
        st.markdown("笔记、提纲和每一节草稿都随写随存在服务器上您自己的工作区里（不需要点保存，别人看不到），"
                    "下次打开会回到上次的位置：")
    st.markdown(md_escape(str(ws.store.path)))
    st.caption(f"运行记录（排查问题时用，不含密钥）：{md_escape(str(ws.log_path))}")
    st.page_link(PAGE_HISTORY, label="打开、改名、复制或删除以前的草稿：草稿历史", icon=":material/history:")


def index_section() -> None:
    st.subheader("范文库")
    ws = workspace()
    try:
        stats = ws.index_stats()
    except ShuzhiError as exc:
        show_error(exc)
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("范文", f"{stats.documents} 篇")
    c2.metric("片段", f"{stats.chunks} 个")
    c3.metric("向量", f"{stats.vectors} 个")
    if stats.dense:
        st.success("语义检索已启用，与关键词检索一起排序。", icon=":material/check_circle:")
    else:
        st.warning("语义检索未启用，目前只用关键词检索；检索和范文匹配的效果会差一些。", icon=":material/warning:")
    for warning in ws.index_warnings():
        st.warning(warning)
    if not ws.is_admin:
        st.page_link(PAGE_CORPUS, label="浏览范文：语料库（只有管理员可以修改）", icon=":material/library_books:")
        return
    st.page_link(PAGE_CORPUS, label="添加或删除范文：语料库", icon=":material/library_books:")
    if st.button("重新索引", icon=":material/sync:"):
        with st.status("正在索引……", expanded=True) as status:
            try:
                report = ws.build_index(on_progress=st.write)
            except ShuzhiError as exc:
                status.update(label="索引失败", state="error")
                show_error(exc)
                return
            status.update(label="索引完成", state="complete", expanded=False)
        st.success(f"片段 {report.chunks} 个，本次新嵌入 {report.embedded} 个，用时 {report.seconds:.1f} 秒。")
        for warning in report.warnings:
            st.warning(warning)


st.header("设置")
model_section()
storage_section()
index_section()
