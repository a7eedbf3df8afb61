//! Row order of spatial versions: along a Hilbert curve over the dataset's extent, so that
//! features close in space are close in the file, and a bbox query skips most Parquet row
//! groups through their `bbox` statistics. Ties keep source order, so output is deterministic.
//!
//! Sorting needs every row: spatial versions are held as Arrow batches until written (town GIS
//! layers are small next to this machine's memory; tables without geometry stream).

use arrow::array::{Array, ArrayRef, BinaryArray};
use arrow::compute::interleave;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::geometry::{Bounds, bounds};

/// A row: its batch, its index there, and the centre of its geometry's bbox.
type RowCentre = (usize, usize, Option<(f64, f64)>);

/// Cells per side of the Hilbert grid (2^16).
const ORDER: u32 = 16;

/// `batches` (the last column WKB) reordered along the Hilbert curve, in batches of `rows`.
pub fn hilbert_sorted(
    batches: &[RecordBatch],
    rows: usize,
) -> Result<Vec<RecordBatch>, ArrowError> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let geometry_col = first.num_columns() - 1;
    let mut centres: Vec<RowCentre> = Vec::new();
    let mut extent: Option<Bounds> = None;
    for (b, batch) in batches.iter().enumerate() {
        let wkb = batch
            .column(geometry_col)
            .as_any()
            .downcast_ref::<BinaryArray>()
            .ok_or_else(|| ArrowError::SchemaError("the last column is not WKB".into()))?;
        for r in 0..wkb.len() {
            let bbox = if wkb.is_null(r) {
                None
            } else {
                bounds(wkb.value(r)).ok().flatten()
            };
            if let Some(bb) = bbox {
                extent = Some(extent.map_or(bb, |e| e.union(bb)));
            }
            let centre = bbox.map(|bb| ((bb.min_x + bb.max_x) / 2.0, (bb.min_y + bb.max_y) / 2.0));
            centres.push((b, r, centre));
        }
    }
    let mut keyed: Vec<(u64, usize, usize)> = centres
        .into_iter()
        .map(|(b, r, c)| {
            let key = match (c, extent) {
                (Some((x, y)), Some(e)) => u64::from(hilbert_index(x, y, &e)),
                _ => u64::MAX, // no geometry: at the end
            };
            (key, b, r)
        })
        .collect();
    keyed.sort(); // by key, then source position: stable and deterministic
    let arrays: Vec<Vec<&dyn Array>> = (0..first.num_columns())
        .map(|c| batches.iter().map(|b| b.column(c).as_ref()).collect())
        .collect();
    keyed
        .chunks(rows.max(1))
        .map(|chunk| {
            let indices: Vec<(usize, usize)> = chunk.iter().map(|&(_, b, r)| (b, r)).collect();
            let columns = arrays
                .iter()
                .map(|cols| interleave(cols, &indices))
                .collect::<Result<Vec<ArrayRef>, _>>()?;
            RecordBatch::try_new(first.schema(), columns)
        })
        .collect()
}

/// The position of (x, y) on a Hilbert curve over `extent` gridded 2^16 × 2^16.
fn hilbert_index(x: f64, y: f64, extent: &Bounds) -> u32 {
    let side = f64::from((1u32 << ORDER) - 1);
    let scale = |v: f64, min: f64, max: f64| {
        if max > min {
            (((v - min) / (max - min)) * side).clamp(0.0, side) as u32
        } else {
            0
        }
    };
    let (mut hx, mut hy) = (
        scale(x, extent.min_x, extent.max_x),
        scale(y, extent.min_y, extent.max_y),
    );
    // The classic xy → d conversion (Hilbert 1891; the iterative form from Wikipedia).
    let n = 1u32 << ORDER;
    let mut d: u64 = 0;
    let mut s = n / 2;
    while s > 0 {
        let rx = u32::from(hx & s > 0);
        let ry = u32::from(hy & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                hx = n - 1 - hx;
                hy = n - 1 - hy;
            }
            std::mem::swap(&mut hx, &mut hy);
        }
        s /= 2;
    }
    // d < 2^32 for a 2^16 grid.
    d as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order-1 curve visits the quadrants (0,0), (0,1), (1,1), (1,0): d = 0, 1, 2, 3.
    #[test]
    fn curve_visits_quadrants_in_hilbert_order() {
        let e = Bounds {
            min_x: 0.0,
            min_y: 0.0,
            max_x: 1.0,
            max_y: 1.0,
        };
        let quarter = 1u32 << 30;
        let d = |x, y| hilbert_index(x, y, &e) / quarter;
        assert_eq!(
            [d(0.1, 0.1), d(0.1, 0.9), d(0.9, 0.9), d(0.9, 0.1)],
            [0, 1, 2, 3]
        );
    }
}
