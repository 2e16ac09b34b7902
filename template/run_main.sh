#!/usr/bin/env sh
# Start the main app from anywhere: paths in the settings are relative to the project root.
set -eu
cd "$(dirname "$0")"
exec uv run streamlit run apps/main/app.py "$@"
