//! Mapbox Vector Tile 2.1 encoding: the protobuf messages written by hand (a tile is three
//! small message types; a protobuf code generator would cost a build step for them) and
//! geometries as command streams in tile coordinates.

use std::collections::HashMap;

use geo_types::{Coord, Geometry, LineString, Polygon};

/// Tile coordinates per tile side.
pub const EXTENT: u32 = 4096;

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub enum TileValue {
    String(String),
    Double(f64),
    Int(i64),
    Bool(bool),
}

impl TileValue {
    /// A hashable key (floats by their bits) for deduplicating values.
    fn key(&self) -> (u8, Vec<u8>) {
        match self {
            TileValue::String(s) => (0, s.as_bytes().to_vec()),
            TileValue::Double(d) => (1, d.to_bits().to_le_bytes().to_vec()),
            TileValue::Int(i) => (2, i.to_le_bytes().to_vec()),
            TileValue::Bool(b) => (3, vec![u8::from(*b)]),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            TileValue::String(s) => bytes_field(&mut out, 1, s.as_bytes()),
            TileValue::Double(d) => {
                key(&mut out, 3, 1);
                out.extend_from_slice(&d.to_le_bytes());
            }
            TileValue::Int(i) => {
                // sint_value: zigzag
                key(&mut out, 6, 0);
                varint(&mut out, ((i << 1) ^ (i >> 63)) as u64);
            }
            TileValue::Bool(b) => {
                key(&mut out, 7, 0);
                varint(&mut out, u64::from(*b));
            }
        }
        out
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from((field << 3) | wire));
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    key(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn packed(out: &mut Vec<u8>, field: u32, values: &[u32]) {
    let mut body = Vec::with_capacity(values.len() * 2);
    for v in values {
        varint(&mut body, u64::from(*v));
    }
    bytes_field(out, field, &body);
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// One layer of a tile, built feature by feature.
#[derive(Debug)]
pub struct Layer {
    name: String,
    keys: Vec<String>,
    key_index: HashMap<String, u32>,
    values: Vec<TileValue>,
    value_index: HashMap<(u8, Vec<u8>), u32>,
    features: Vec<Vec<u8>>,
}

impl Layer {
    pub fn new(name: &str) -> Layer {
        Layer {
            name: name.to_owned(),
            keys: Vec::new(),
            key_index: HashMap::new(),
            values: Vec::new(),
            value_index: HashMap::new(),
            features: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Adds a feature whose geometry is in tile coordinates; a geometry that vanishes at this
    /// resolution is skipped.
    pub fn add(
        &mut self,
        id: Option<u64>,
        geometry: &Geometry<f64>,
        properties: Vec<(String, TileValue)>,
    ) {
        let Some((kind, commands)) = encode_geometry(geometry) else {
            return;
        };
        let mut tags = Vec::with_capacity(properties.len() * 2);
        for (k, v) in properties {
            let next = self.keys.len() as u32;
            let ki = *self.key_index.entry(k.clone()).or_insert_with(|| {
                self.keys.push(k);
                next
            });
            let next = self.values.len() as u32;
            let vi = *self.value_index.entry(v.key()).or_insert_with(|| {
                self.values.push(v);
                next
            });
            tags.extend([ki, vi]);
        }
        let mut f = Vec::new();
        if let Some(id) = id {
            key(&mut f, 1, 0);
            varint(&mut f, id);
        }
        if !tags.is_empty() {
            packed(&mut f, 2, &tags);
        }
        key(&mut f, 3, 0);
        varint(&mut f, u64::from(kind));
        packed(&mut f, 4, &commands);
        self.features.push(f);
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        key(&mut out, 15, 0);
        varint(&mut out, 2);
        bytes_field(&mut out, 1, self.name.as_bytes());
        for f in &self.features {
            bytes_field(&mut out, 2, f);
        }
        for k in &self.keys {
            bytes_field(&mut out, 3, k.as_bytes());
        }
        for v in &self.values {
            bytes_field(&mut out, 4, &v.encode());
        }
        key(&mut out, 5, 0);
        varint(&mut out, u64::from(EXTENT));
        out
    }
}

/// The tile message of some layers.
pub fn encode_tile(layers: &[Layer]) -> Vec<u8> {
    let mut out = Vec::new();
    for layer in layers.iter().filter(|l| !l.is_empty()) {
        bytes_field(&mut out, 3, &layer.encode());
    }
    out
}

/// Commands of one geometry: (type, command integers). Points are type 1, lines 2, polygons 3.
fn encode_geometry(g: &Geometry<f64>) -> Option<(u32, Vec<u32>)> {
    let mut cursor = (0i32, 0i32);
    let mut out = Vec::new();
    let kind = match g {
        Geometry::Point(p) => {
            points(&mut out, &mut cursor, &[p.0]);
            1
        }
        Geometry::MultiPoint(m) => {
            let coords: Vec<Coord> = m.0.iter().map(|p| p.0).collect();
            points(&mut out, &mut cursor, &coords);
            1
        }
        Geometry::LineString(l) => {
            line(&mut out, &mut cursor, l, false);
            2
        }
        Geometry::MultiLineString(m) => {
            for l in &m.0 {
                line(&mut out, &mut cursor, l, false);
            }
            2
        }
        Geometry::Polygon(p) => {
            polygon(&mut out, &mut cursor, p);
            3
        }
        Geometry::MultiPolygon(m) => {
            m.0.iter().for_each(|p| polygon(&mut out, &mut cursor, p));
            3
        }
        // Collections, lines, rects and triangles do not occur in published data.
        _ => return None,
    };
    (!out.is_empty()).then_some((kind, out))
}

fn command(id: u32, count: u32) -> u32 {
    (id & 0x7) | (count << 3)
}

fn rounded(c: Coord) -> (i32, i32) {
    (c.x.round() as i32, c.y.round() as i32)
}

fn points(out: &mut Vec<u32>, cursor: &mut (i32, i32), coords: &[Coord]) {
    if coords.is_empty() {
        return;
    }
    out.push(command(1, coords.len() as u32));
    for c in coords {
        let (x, y) = rounded(*c);
        out.extend([zigzag(x - cursor.0), zigzag(y - cursor.1)]);
        *cursor = (x, y);
    }
}

/// A line or ring without repeated points after rounding; `ring` drops the closing point and
/// needs three distinct points.
fn line(out: &mut Vec<u32>, cursor: &mut (i32, i32), l: &LineString<f64>, ring: bool) -> bool {
    let mut pts: Vec<(i32, i32)> = Vec::with_capacity(l.0.len());
    for c in &l.0 {
        let p = rounded(*c);
        if pts.last() != Some(&p) {
            pts.push(p);
        }
    }
    if ring {
        if pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        if pts.len() < 3 {
            return false;
        }
    } else if pts.len() < 2 {
        return false;
    }
    out.push(command(1, 1));
    out.extend([zigzag(pts[0].0 - cursor.0), zigzag(pts[0].1 - cursor.1)]);
    *cursor = pts[0];
    out.push(command(2, pts.len() as u32 - 1));
    for p in &pts[1..] {
        out.extend([zigzag(p.0 - cursor.0), zigzag(p.1 - cursor.1)]);
        *cursor = *p;
    }
    if ring {
        out.push(command(7, 1));
    }
    true
}

/// Twice the signed area in tile coordinates (y down): positive is clockwise on screen.
fn area2(l: &LineString<f64>) -> f64 {
    l.0.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum()
}

/// The exterior clockwise, holes counter-clockwise on screen (MVT 2.1 §4.3.4.4).
fn polygon(out: &mut Vec<u32>, cursor: &mut (i32, i32), p: &Polygon<f64>) {
    let mut exterior = p.exterior().clone();
    if area2(&exterior) < 0.0 {
        exterior.0.reverse();
    }
    if !line(out, cursor, &exterior, true) {
        return;
    }
    for hole in p.interiors() {
        let mut hole = hole.clone();
        if area2(&hole) > 0.0 {
            hole.0.reverse();
        }
        line(out, cursor, &hole, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_move_to_with_zigzag_deltas() {
        let (kind, cmds) =
            encode_geometry(&Geometry::Point(geo_types::Point::new(25.0, 17.0))).expect("point");
        assert_eq!(kind, 1);
        // The example of the MVT specification, §4.3.5.1.
        assert_eq!(cmds, vec![9, 50, 34]);
    }

    #[test]
    fn a_polygon_is_closed_and_clockwise() {
        // The specification's example ring, reversed (counter-clockwise) with a repeated point.
        let ring = LineString::from(vec![
            (3.0, 6.0),
            (20.0, 34.0),
            (20.0, 34.0),
            (8.0, 12.0),
            (3.0, 6.0),
        ]);
        let (kind, cmds) =
            encode_geometry(&Geometry::Polygon(Polygon::new(ring, vec![]))).expect("polygon");
        assert_eq!(kind, 3);
        // MVT 2.1 §4.3.5.3: MoveTo(3,6) LineTo(+5,+6)(+12,+22) ClosePath.
        assert_eq!(cmds, vec![9, 6, 12, 18, 10, 12, 24, 44, 15]);
    }

    #[test]
    fn values_are_deduplicated() {
        let mut layer = Layer::new("l");
        let p = Geometry::Point(geo_types::Point::new(1.0, 1.0));
        for _ in 0..3 {
            layer.add(None, &p, vec![("a".into(), TileValue::Int(1))]);
        }
        assert_eq!(layer.keys.len(), 1);
        assert_eq!(layer.values.len(), 1);
        assert_eq!(layer.features.len(), 3);
    }
}
