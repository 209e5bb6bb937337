"""Streamlit pages of the shuzhi app (entry point: app.py). Pages call the core; no domain logic here."""
