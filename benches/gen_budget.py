#!/usr/bin/env python3
"""Writes a large municipal budget CSV like the real ones: Windows-1252, semicolons,
German amounts (1.234,56), codes with leading zeros. Usage: gen_budget.py ROWS OUT.csv"""
import random
import sys

rows, out = int(sys.argv[1]), sys.argv[2]
random.seed(42)
words = ["Straßenunterhaltung", "Grünflächen", "Schülerbeförderung", "Bäder", "Gebäudeunterhaltung",
         "Öffentliche Ordnung", "Jugendförderung", "Kindertagesstätten", "Bücherei", "Feuerwehr"]


def amount():
    v = random.uniform(-2_000_000, 2_000_000)
    whole, frac = f"{abs(v):.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return ("-" if v < 0 else "") + grouped + "," + frac


with open(out, "w", encoding="cp1252", newline="") as f:
    f.write("Produkt;Bezeichnung;Kostenart;Ist 2022;Plan 2023;Plan 2024;Plan 2025\r\n")
    for i in range(rows):
        f.write(f"0{random.randint(1000, 9999)};{random.choice(words)} {i % 97};"
                f"{random.randint(40000000, 59999999)};{amount()};{amount()};{amount()};{amount()}\r\n")
