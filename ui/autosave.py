"""Autosave for every text box: typing is committed to the app ~600 ms after the last keystroke.

Streamlit sends a text box's value to the script only on blur, Enter (text input) or Ctrl+Enter (text
area), so text typed just before F5 was lost. A tiny script, installed once into the page itself, watches
`input` events of the page's text areas, text and number inputs and, 600 ms after the last one (or when
the tab is hidden or closed), sends the key Streamlit's own widgets accept as "commit". The widgets'
`on_change` callbacks then write the value to the workspace store: saved within a second, no save button.

It loads nothing from anywhere (no external resources); inputs inside forms, chat inputs and select boxes
are left alone (Enter means "submit" or "choose" there), and so is text being composed with an IME.
"""

from __future__ import annotations

import json

import streamlit as st

DELAY_MS = 600
SCRIPT_ID = "shuzhi-autosave"

# Runs in the page (window.parent of the component's iframe), once: the element id guards re-installing.
_PAGE_SCRIPT = """
(function () {
  if (window.__shuzhiAutosave) { return; }
  window.__shuzhiAutosave = true;
  var DELAY = %(delay)d;
  var WIDGETS = '[data-testid="stTextArea"], [data-testid="stTextInput"], [data-testid="stNumberInput"]';
  var timers = new Map();
  function eligible(el) {
    if (!el || !el.matches || !el.matches('textarea, input')) { return false; }
    var type = (el.getAttribute('type') || 'text').toLowerCase();
    if (el.tagName === 'INPUT' && ['text', 'number', 'password', 'search'].indexOf(type) < 0) { return false; }
    return !!el.closest(WIDGETS) && !el.closest('[data-testid="stForm"]') && !el.closest('[data-testid="stChatInput"]');
  }
  function commit(el) {
    var t = timers.get(el);
    if (t !== undefined) { window.clearTimeout(t); timers.delete(el); }
    if (!el.isConnected) { return; }
    el.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', code: 'Enter', bubbles: true, cancelable: true,
                                                    ctrlKey: el.tagName === 'TEXTAREA'}));
  }
  function schedule(el) {
    var t = timers.get(el);
    if (t !== undefined) { window.clearTimeout(t); }
    timers.set(el, window.setTimeout(function () { commit(el); }, DELAY));
  }
  document.addEventListener('input', function (e) {
    if (eligible(e.target) && !e.isComposing) { schedule(e.target); }
  }, true);
  document.addEventListener('compositionend', function (e) {
    if (eligible(e.target)) { schedule(e.target); }
  }, true);
  function flush() { Array.from(timers.keys()).forEach(commit); }
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'hidden') { flush(); }
  });
  window.addEventListener('pagehide', flush);
})();
"""

_INSTALLER = """<script>
(function () {
  var doc = window.parent && window.parent.document;
  if (!doc || doc.getElementById(%(id)s)) { return; }
  var s = doc.createElement('script');
  s.id = %(id)s;
  s.textContent = %(code)s;
  doc.head.appendChild(s);
})();
</script>"""


def autosave_html() -> str:
    """The frame's HTML: installs the page script once (it survives reruns and page switches)."""
    code = _PAGE_SCRIPT % {"delay": DELAY_MS}
    return _INSTALLER % {"id": json.dumps(SCRIPT_ID), "code": json.dumps(code)}


def inject_autosave() -> None:
    """Call once per page run (app.py): an invisible same-origin frame installing the autosave script."""
    with st.sidebar:
        st.iframe(autosave_html(), height="content")
