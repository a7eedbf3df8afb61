#!/usr/bin/env python3
"""Writes a GeoJSON FeatureCollection of small polygons (parcels) scattered over NRW with a few
properties. Usage: gen_features.py FEATURES OUT.geojson"""
import json
import random
import sys

count, out = int(sys.argv[1]), sys.argv[2]
random.seed(11)
with open(out, "w", encoding="utf-8") as f:
    f.write('{"type":"FeatureCollection","features":[\n')
    for i in range(count):
        x, y = random.uniform(5.9, 9.4), random.uniform(50.3, 52.5)
        d = 0.0005
        ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
        feature = {
            "type": "Feature",
            "properties": {"flurstueck": f"05{i:010d}", "flaeche_m2": round(random.uniform(50, 5000), 1),
                           "nutzung": random.choice(["Wohnbaufläche", "Grünland", "Straßenverkehr", "Wald"])},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        f.write(("," if i else "") + json.dumps(feature, ensure_ascii=False) + "\n")
    f.write("]}\n")
