"""Tables and files: an editable expense table, a chart drawn from it, and an uploaded CSV.

``st.data_editor`` and ``st.file_uploader`` cannot be restored through session state, so
this page uses their persistent versions: the table and the file are saved to the process
like every ``persist_`` key, and come back after a reload or a server restart.
"""

import io
from pathlib import Path

import pandas as pd
import streamlit as st

from persistence import (
    StoredFile,
    StringTable,
    get_session,
    persistent_data_editor,
    persistent_file_uploader,
)

# This app's wording, in the configured language.
t = StringTable.load(Path(__file__).parents[1] / "strings.toml")


def default_expenses() -> pd.DataFrame:
    """The table of a process that has none yet. Nullable dtypes keep a new, still empty
    row's cells empty (``<NA>``) instead of turning the column into floats or objects."""
    return pd.DataFrame(
        {
            "item": pd.array([t("expenses.venue"), t("expenses.catering")], dtype="string"),
            "amount": pd.array([120_000, 80_000], dtype="Int64"),
            "paid": pd.array([True, False], dtype="boolean"),
        }
    )


def expenses() -> pd.DataFrame:
    st.subheader(t("tables.expenses"))
    table = persistent_data_editor(
        "expenses",
        default_expenses(),
        num_rows="dynamic",
        column_config={
            "item": st.column_config.TextColumn(t("expenses.item"), width="medium"),
            "amount": st.column_config.NumberColumn(
                t("expenses.amount"), width="medium", min_value=0, step=1
            ),
            "paid": st.column_config.CheckboxColumn(t("expenses.paid"), width="small"),
        },
    )
    st.caption(t("tables.total", total=f"{int(table['amount'].sum()):,}"))
    return table


def chart(table: pd.DataFrame) -> None:
    rows = table.dropna(subset=["item", "amount"])
    if rows.empty:
        st.info(t("tables.no_rows"))
        return
    st.bar_chart(
        rows.astype({"amount": "float64"}),
        x="item",
        y="amount",
        x_label=t("expenses.item"),
        y_label=t("expenses.amount"),
        horizontal=True,
    )


def csv_file() -> None:
    st.subheader(t("tables.csv"))
    file: StoredFile | None = persistent_file_uploader(
        "csv", t("tables.upload"), type=["csv"], help=t("tables.upload_help")
    )
    if file is None:
        return
    try:
        frame = pd.read_csv(io.BytesIO(file.data))
    except (ValueError, UnicodeDecodeError) as error:
        st.warning(t("tables.unreadable", name=file.name, error=error))
        return
    st.caption(t("tables.csv_shape", rows=len(frame), columns=len(frame.columns)))
    st.dataframe(frame, hide_index=True)


st.title(t("tables.title"))
if get_session().process is None:
    st.info(t("page.nothing_open"))
else:
    chart(expenses())
    csv_file()
