#!/usr/bin/env python3
"""Writes gauge readings as a town's export has them: semicolons, decimal commas, ISO times with
zone, one reading per gauge every 15 minutes. Usage: gen_gauges.py MEGABYTES OUT.csv"""
import random
import sys
from datetime import datetime, timedelta, timezone

megabytes, out = int(sys.argv[1]), sys.argv[2]
random.seed(7)
stations = [f"{random.randint(2000000, 2999999)}" for _ in range(200)]
start = datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=1)))
limit = megabytes * 1_000_000
with open(out, "w", encoding="utf-8", newline="") as f:
    f.write("Station;Zeitpunkt;Wasserstand_cm;Abfluss_m3s;Qualitaet\n")
    written, step = 0, 0
    while written < limit:
        t = (start + timedelta(minutes=15 * step)).isoformat()
        lines = []
        for s in stations:
            level = f"{random.uniform(20, 900):.1f}".replace(".", ",")
            flow = f"{random.uniform(0.1, 3000):.2f}".replace(".", ",")
            lines.append(f"{s};{t};{level};{flow};{random.choice(('geprüft', 'ungeprüft'))}\n")
        chunk = "".join(lines)
        f.write(chunk)
        written += len(chunk.encode("utf-8"))
        step += 1
