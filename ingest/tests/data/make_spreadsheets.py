"""Builds the spreadsheet fixtures of the ingest tests from a real CSV.

Source: ../shared/datasets/budgets/koeln_bezirke_einzeldarstellung_utf8bom.csv (Stadt Köln,
budget per Stadtbezirk, CC-BY; see README.md). Its thousands-dot amounts become number cells.

    pip install openpyxl odfpy pandas
    python ingest/tests/data/make_spreadsheets.py

Writes koeln_bezirke.xlsx and koeln_bezirke.ods beside this script, each with two sheets:
"Daten" (two empty rows, then the header in row 3 and the 252 data rows) and "Quelle"
(where the data came from, with a date-time, a boolean, a number and empty cells).
"""

import datetime
import pathlib

import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = (
    HERE.parents[2].parent
    / "shared/datasets/budgets/koeln_bezirke_einzeldarstellung_utf8bom.csv"
)
AMOUNTS = ["Ergebnis 2011"] + [f"Plan {y}" for y in range(2012, 2018)]


def main() -> None:
    data = pd.read_csv(SOURCE, sep=";", encoding="utf-8-sig", dtype=str)
    for column in AMOUNTS:
        data[column] = data[column].str.replace(".", "", regex=False).astype("int64")
    data["Bezirk"] = data["Bezirk"].astype("int64")
    source = pd.DataFrame(
        {
            "Angabe": ["Quelle", "Lizenz", "Erstellt", "Zeilen", "Vollständig"],
            "Wert": [
                "KoelnAPI/data@08b0255c8ea12c8efc5e8d03b473a3d8bdcaeb93:"
                "data/budget/bezirke_einzeldarstellung/_source/bezirke_einzeldarstellung.csv",
                "CC-BY (Stadt Köln)",
                datetime.datetime(2026, 11, 23, 22, 12),
                len(data),
                True,
            ],
            "Hinweis": [None, None, None, "ohne Kopfzeile", None],
        }
    )
    for name, engine in [("koeln_bezirke.xlsx", "openpyxl"), ("koeln_bezirke.ods", "odf")]:
        path = HERE / name
        with pd.ExcelWriter(path, engine=engine) as writer:
            data.to_excel(writer, sheet_name="Daten", startrow=2, index=False)
            source.to_excel(writer, sheet_name="Quelle", index=False)
            if engine == "openpyxl":
                # A fixed creation time keeps the file identical when regenerated.
                stamp = datetime.datetime(2026, 11, 23, 22, 12)
                writer.book.properties.created = stamp
                writer.book.properties.modified = stamp
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
