"""End-to-end tests: a real Chromium against a real ``streamlit run`` server."""
