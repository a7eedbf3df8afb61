//! OGC API – Features Part 2 (CRS by reference): the CRSs offered for `crs`, `bbox-crs` and
//! `filter-crs`, their axis order, and bounding boxes reprojected to WGS 84 lon/lat with
//! Allmende's pure-Rust CRS support (`allmende_ingest::crs`).

use allmende_ingest::crs::{Crs, Transformer};

use crate::error::ApiError;

pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// A CRS the API offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Supported {
    /// `None` for CRS84 (WGS 84 longitude/latitude, what the files hold).
    pub epsg: Option<u16>,
}

/// Every offered CRS, CRS84 (the storage CRS) first.
pub const ALL: [Supported; 5] = [
    Supported { epsg: None },
    Supported { epsg: Some(4326) },
    Supported { epsg: Some(25832) },
    Supported { epsg: Some(25833) },
    Supported { epsg: Some(3857) },
];

impl Supported {
    pub const CRS84: Supported = Supported { epsg: None };

    /// The CRS's URI, as clients send it and as `Content-Crs` names it.
    pub fn uri(self) -> String {
        match self.epsg {
            None => CRS84.to_owned(),
            Some(code) => format!("http://www.opengis.net/def/crs/EPSG/0/{code}"),
        }
    }

    /// Whether coordinates are written latitude first (EPSG:4326's axis order).
    pub fn lat_lon(self) -> bool {
        self.epsg == Some(4326)
    }

    /// Whether geometries need a reprojection from WGS 84 (not for CRS84 and EPSG:4326, which
    /// differ only in axis order).
    pub fn projected(self) -> bool {
        !matches!(self.epsg, None | Some(4326))
    }

    /// A `crs`/`bbox-crs` value: the URI, a URN, `EPSG:n` or `[EPSG:n]` (a safe CURIE).
    pub fn parse(parameter: &str, value: &str) -> Result<Supported, ApiError> {
        let text = value.trim().trim_start_matches('[').trim_end_matches(']');
        let upper = text.to_ascii_uppercase();
        let found = if upper.ends_with("CRS84") || upper == "OGC:CRS84" {
            Some(Supported::CRS84)
        } else {
            allmende_ingest::crs::epsg_code(text)
                .and_then(|code| ALL.into_iter().find(|c| c.epsg == Some(code)))
        };
        found.ok_or_else(|| {
            let offered: Vec<String> = ALL.iter().map(|c| c.uri()).collect();
            ApiError::bad_request(format!(
                "{parameter}={value} is not offered; use one of {}",
                offered.join(", ")
            ))
        })
    }

    /// Transformer from this CRS to WGS 84 lon/lat, `None` for the geographic ones.
    fn to_wgs84(self) -> Result<Option<Transformer>, ApiError> {
        if !self.projected() {
            return Ok(None);
        }
        let code = self.epsg.unwrap_or(4326);
        let crs = Crs::from_epsg(code).map_err(ApiError::internal)?;
        Transformer::between(&crs, &Crs::wgs84())
            .map(Some)
            .map_err(ApiError::internal)
    }

    /// A point of this CRS (in its axis order) as WGS 84 (lon, lat).
    pub fn point_to_wgs84(self, a: f64, b: f64) -> Result<(f64, f64), ApiError> {
        if self.lat_lon() {
            return Ok((b, a));
        }
        match self.to_wgs84()? {
            None => Ok((a, b)),
            Some(t) => t
                .point(a, b)
                .map_err(|e| ApiError::bad_request(format!("coordinates out of range: {e}"))),
        }
    }

    /// A box of this CRS (`[min a, min b, max a, max b]` in its axis order) as a WGS 84
    /// lon/lat ring. A projected box's edges are curves in lon/lat, so they are sampled.
    pub fn bbox_ring_wgs84(self, b: [f64; 4]) -> Result<Vec<(f64, f64)>, ApiError> {
        let steps = if self.projected() { 16 } else { 1 };
        let corners = [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])];
        let mut ring = Vec::with_capacity(4 * steps + 1);
        for i in 0..4 {
            let (x0, y0) = corners[i];
            let (x1, y1) = corners[(i + 1) % 4];
            for s in 0..steps {
                let t = s as f64 / steps as f64;
                ring.push(self.point_to_wgs84(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)?);
            }
        }
        ring.push(ring[0]);
        // Counter-clockwise as RFC 7946 wants it; EPSG:4326's swapped axes mirror the ring.
        let area2: f64 = ring
            .windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum();
        if area2 < 0.0 {
            ring.reverse();
        }
        Ok(ring)
    }
}

/// The lon/lat envelope of a ring.
pub fn envelope(ring: &[(f64, f64)]) -> [f64; 4] {
    ring.iter().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |e, &(x, y)| [e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_urns_and_curies_are_understood() {
        for text in [
            "http://www.opengis.net/def/crs/EPSG/0/25832",
            "EPSG:25832",
            "[EPSG:25832]",
            "urn:ogc:def:crs:EPSG::25832",
        ] {
            assert_eq!(Supported::parse("crs", text).expect(text).epsg, Some(25832));
        }
        assert_eq!(
            Supported::parse("crs", CRS84).expect("crs84"),
            Supported::CRS84
        );
        assert!(Supported::parse("crs", "EPSG:31467").is_err());
    }

    #[test]
    fn epsg_4326_boxes_are_latitude_first() {
        let ring = Supported::parse("bbox-crs", "EPSG:4326")
            .expect("4326")
            .bbox_ring_wgs84([49.0, 8.3, 49.1, 8.5])
            .expect("box");
        assert_eq!(envelope(&ring), [8.3, 49.0, 8.5, 49.1]);
        assert_eq!(ring.len(), 5);
    }

    #[test]
    fn utm_boxes_cover_their_lon_lat_area() {
        // Karlsruhe's centre in ETRS89 / UTM 32N is about (456 000, 5 429 000).
        let ring = Supported::parse("bbox-crs", "EPSG:25832")
            .expect("25832")
            .bbox_ring_wgs84([455_000.0, 5_428_000.0, 457_000.0, 5_430_000.0])
            .expect("box");
        let b = envelope(&ring);
        assert!(
            b[0] > 8.37 && b[0] < 8.39 && b[1] > 49.0 && b[1] < 49.01,
            "{b:?}"
        );
        assert!(
            b[2] > 8.39 && b[2] < 8.42 && b[3] > 49.01 && b[3] < 49.03,
            "{b:?}"
        );
    }
}
