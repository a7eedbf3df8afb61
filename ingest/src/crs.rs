//! Coordinate reference systems: read what a source declares (an EPSG code, a `.prj` or
//! GeoPackage WKT, a PROJ string) and reproject to WGS 84 longitude/latitude in pure Rust
//! (`proj4rs`, definitions from `crs-definitions`, WKT through `proj4wkt`).
//!
//! The DHDN datum of Gauß-Krüger coordinates is shifted with the AdV's BETA2007 NTv2 grid
//! (bundled, 84 KB; what PROJ uses when proj-data is installed), and outside the grid with the
//! 7-parameter Helmert transformation EPSG:1777 (`towgs84=598.1,73.7,418.2,0.202,0.045,
//! -2.455,6.7`). ETRS89 is treated as equal to WGS 84, as PROJ does by default.

use geo_types::Geometry;
use proj4rs::Proj;

/// The WGS 84 / ETRS89 geographic codes whose coordinates we publish unchanged (as lon/lat).
const LON_LAT_CODES: &[u16] = &[4326, 4258];

/// DHDN's Helmert shift to WGS 84 (EPSG:1777), for WKT that names the datum but omits
/// `TOWGS84` (ESRI `.prj`), and for points outside the BETA2007 grid.
const DHDN_TOWGS84: &str = "+towgs84=598.1,73.7,418.2,0.202,0.045,-2.455,6.7";

/// The BETA2007 DHDN → ETRS89 grid (AdV/BKG; free redistribution, see `ingest/data/README.md`).
const BETA2007: &[u8] = include_bytes!("../data/BETA2007.gsb");
const BETA2007_KEY: &str = "BETA2007.gsb";

/// Registers the bundled grid with proj4rs once.
fn register_beta2007() -> bool {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REGISTERED.get_or_init(|| {
        proj4rs::nadgrids::catalog::with_catalog(|catalog| {
            proj4rs::nadgrids::formats::read(
                catalog,
                BETA2007_KEY,
                &mut std::io::Cursor::new(BETA2007),
            )
        })
        .is_ok()
    })
}

/// Whether a PROJ string is on the DHDN datum.
fn is_dhdn(projstring: &str) -> bool {
    projstring.contains("+datum=potsdam") || projstring.contains(DHDN_TOWGS84)
}

/// The same projection on the Bessel ellipsoid, shifted by the BETA2007 grid.
fn with_beta2007(projstring: &str) -> Option<Proj> {
    if !register_beta2007() {
        return None;
    }
    let kept: Vec<&str> = projstring
        .split_whitespace()
        .filter(|p| {
            !p.starts_with("+towgs84")
                && !p.starts_with("+datum")
                && !p.starts_with("+ellps")
                && !p.starts_with("+a=")
                && !p.starts_with("+rf=")
                && !p.starts_with("+b=")
        })
        .collect();
    let grid = format!("{} +ellps=bessel +nadgrids={BETA2007_KEY}", kept.join(" "));
    Proj::from_proj_string(&grid).ok()
}

/// Area of use (lon/lat box, slightly widened) of the CRSs German sources use; a coordinate
/// outside it usually means swapped axes or a wrong declared CRS.
const AREAS_OF_USE: &[(u16, [f64; 4])] = &[
    (25832, [0.0, 36.0, 18.0, 86.0]),
    (25833, [6.0, 36.0, 24.0, 86.0]),
    (31466, [4.5, 46.0, 9.0, 56.0]),
    (31467, [6.0, 46.0, 12.0, 56.0]),
    (31468, [9.0, 46.0, 15.0, 56.0]),
    (31469, [12.0, 46.0, 16.5, 56.0]),
    (3857, [-180.0, -85.1, 180.0, 85.1]),
    (4326, [-180.0, -90.0, 180.0, 90.0]),
    (4258, [-180.0, -90.0, 180.0, 90.0]),
];

/// A source CRS.
pub struct Crs {
    /// What to call it in metadata: `EPSG:25832`, or the WKT's own name when it has no code.
    label: String,
    /// The EPSG code, when known.
    epsg: Option<u16>,
    /// `None` for WGS 84 longitude/latitude, which needs no transformation.
    proj: Option<Proj>,
    /// For DHDN: the projection with the BETA2007 grid shift, tried before `proj`.
    grid: Option<Proj>,
}

impl std::fmt::Debug for Crs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crs").field("label", &self.label).finish()
    }
}

impl Crs {
    /// WGS 84 longitude/latitude (OGC:CRS84).
    pub fn wgs84() -> Crs {
        Crs {
            label: "OGC:CRS84".into(),
            epsg: None,
            proj: None,
            grid: None,
        }
    }

    /// Parses `EPSG:25832`, an OGC URN or URI, a PROJ string (`+proj=…`) or WKT.
    pub fn parse(text: &str) -> Result<Crs, String> {
        let text = text.trim();
        if is_crs84(text) {
            return Ok(Crs::wgs84());
        }
        if let Some(code) = epsg_code(text) {
            return Crs::from_epsg(code);
        }
        if text.starts_with('+') {
            let proj = Proj::from_proj_string(text).map_err(|e| format!("PROJ string: {e}"))?;
            return Ok(Crs {
                label: text.to_owned(),
                epsg: None,
                grid: is_dhdn(text).then(|| with_beta2007(text)).flatten(),
                proj: Some(proj),
            });
        }
        if text.contains('[') {
            return Crs::from_wkt(text);
        }
        Err(format!(
            "unknown CRS '{text}': give an EPSG code (EPSG:25832), WKT or a PROJ string"
        ))
    }

    /// A CRS by EPSG code.
    pub fn from_epsg(code: u16) -> Result<Crs, String> {
        if LON_LAT_CODES.contains(&code) {
            return Ok(Crs {
                label: format!("EPSG:{code}"),
                epsg: Some(code),
                proj: None,
                grid: None,
            });
        }
        let def = crs_definitions::from_code(code).ok_or(format!("EPSG:{code} is not known"))?;
        let proj = Proj::from_proj_string(def.proj4)
            .map_err(|e| format!("EPSG:{code} cannot be used: {e}"))?;
        Ok(Crs {
            label: format!("EPSG:{code}"),
            epsg: Some(code),
            grid: is_dhdn(def.proj4)
                .then(|| with_beta2007(def.proj4))
                .flatten(),
            proj: Some(proj),
        })
    }

    /// A CRS from WKT 1 or 2: by its EPSG authority when it has one, else by its parameters,
    /// so a UTM projection with a shifted false easting is read as exactly that.
    pub fn from_wkt(wkt: &str) -> Result<Crs, String> {
        // ESRI writes a vertical CRS after the horizontal one without a COMPD_CS around them.
        let wkt = first_node(wkt);
        if let Some(code) = top_level_epsg(wkt)
            && crs_definitions::from_code(code).is_some()
        {
            return Crs::from_epsg(code);
        }
        let mut projstring =
            proj4wkt::wkt_to_projstring(wkt).map_err(|e| format!("WKT not understood: {e}"))?;
        let upper = wkt.to_ascii_uppercase();
        if (upper.contains("HAUPTDREIECKSNETZ") || upper.contains("\"DHDN"))
            && !upper.contains("TOWGS84")
        {
            projstring = projstring
                .split_whitespace()
                .filter(|p| !p.starts_with("+towgs84"))
                .collect::<Vec<_>>()
                .join(" ");
            projstring.push(' ');
            projstring.push_str(DHDN_TOWGS84);
        }
        let proj = Proj::from_proj_string(&projstring)
            .map_err(|e| format!("WKT gives '{projstring}', which cannot be used: {e}"))?;
        let label = wkt_name(wkt).unwrap_or_else(|| "custom CRS".into());
        if proj.is_latlong() && (upper.contains("WGS") || upper.contains("ETRS")) {
            return Ok(Crs {
                label,
                epsg: None,
                proj: None,
                grid: None,
            });
        }
        Ok(Crs {
            label: format!("{label} ({projstring})"),
            epsg: None,
            grid: is_dhdn(&projstring)
                .then(|| with_beta2007(&projstring))
                .flatten(),
            proj: Some(proj),
        })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn epsg(&self) -> Option<u16> {
        self.epsg
    }

    /// Whether coordinates are already WGS 84 longitude/latitude.
    pub fn is_wgs84(&self) -> bool {
        self.proj.is_none()
    }

    /// The lon/lat box where this CRS's coordinates are meaningful, when known.
    pub fn area_of_use(&self) -> Option<[f64; 4]> {
        let code = if self.is_wgs84() { 4326 } else { self.epsg? };
        AREAS_OF_USE
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, area)| *area)
    }

    /// The transformation to WGS 84 longitude/latitude; `None` when none is needed.
    pub fn to_wgs84(&self) -> Option<Transformer> {
        let src = self.proj.as_ref()?;
        let dst = Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs").ok()?;
        Some(Transformer {
            src_is_latlong: src.is_latlong(),
            src: src.clone(),
            src_grid: self.grid.clone(),
            dst,
            dst_is_latlong: true,
        })
    }
}

/// Reprojects coordinates between two CRSs. Geographic coordinates are in degrees.
pub struct Transformer {
    src: Proj,
    /// The source with a grid datum shift, tried first (DHDN); `src` outside the grid.
    src_grid: Option<Proj>,
    dst: Proj,
    src_is_latlong: bool,
    dst_is_latlong: bool,
}

impl Transformer {
    /// Between any two CRSs (`None` stands for WGS 84 longitude/latitude).
    pub fn between(src: &Crs, dst: &Crs) -> Result<Transformer, String> {
        let wgs84 = || {
            Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs").map_err(|e| e.to_string())
        };
        let src_proj = src.proj.clone().map_or_else(wgs84, Ok)?;
        let dst_proj = dst.proj.clone().map_or_else(wgs84, Ok)?;
        Ok(Transformer {
            src_is_latlong: src_proj.is_latlong(),
            dst_is_latlong: dst_proj.is_latlong(),
            src: src_proj,
            src_grid: src.grid.clone(),
            dst: dst_proj,
        })
    }

    /// One coordinate pair.
    pub fn point(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        let mut p = if self.src_is_latlong {
            (x.to_radians(), y.to_radians(), 0.0)
        } else {
            (x, y, 0.0)
        };
        let start = p;
        let shifted = self
            .src_grid
            .as_ref()
            .is_some_and(|grid| proj4rs::transform::transform(grid, &self.dst, &mut p).is_ok());
        if !shifted {
            p = start;
            proj4rs::transform::transform(&self.src, &self.dst, &mut p)
                .map_err(|e| format!("cannot reproject ({x}, {y}): {e}"))?;
        }
        let (x2, y2) = if self.dst_is_latlong {
            (p.0.to_degrees(), p.1.to_degrees())
        } else {
            (p.0, p.1)
        };
        if x2.is_finite() && y2.is_finite() {
            Ok((x2, y2))
        } else {
            Err(format!("cannot reproject ({x}, {y}): result is not finite"))
        }
    }

    /// Every coordinate of a geometry, in place.
    pub fn geometry(&self, geometry: &mut Geometry<f64>) -> Result<(), String> {
        use geo::MapCoordsInPlace;
        let failure = std::cell::RefCell::new(None);
        geometry.map_coords_in_place(|c| match self.point(c.x, c.y) {
            Ok((x, y)) => geo_types::Coord { x, y },
            Err(e) => {
                failure.borrow_mut().get_or_insert(e);
                c
            }
        });
        failure.into_inner().map_or(Ok(()), Err)
    }
}

fn is_crs84(text: &str) -> bool {
    let t = text.to_ascii_uppercase();
    t == "WGS84" || t.ends_with("CRS84") || t.ends_with("CRS:84")
}

/// The EPSG code of `EPSG:25832`, `urn:ogc:def:crs:EPSG::25832` or
/// `http://www.opengis.net/def/crs/EPSG/0/25832`.
pub fn epsg_code(text: &str) -> Option<u16> {
    let upper = text.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("EPSG:")
        .or_else(|| upper.strip_prefix("URN:OGC:DEF:CRS:EPSG:"))
        .or_else(|| upper.strip_prefix("HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/"))
        .or_else(|| upper.strip_prefix("HTTPS://WWW.OPENGIS.NET/DEF/CRS/EPSG/"))?;
    let digits = rest.rsplit([':', '/']).next()?;
    digits.parse().ok()
}

/// The `AUTHORITY["EPSG", n]` / `ID["EPSG", n]` of the outermost WKT node, if any.
fn top_level_epsg(wkt: &str) -> Option<u16> {
    let mut depth = 0usize;
    let bytes = wkt.as_bytes();
    let mut found = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth = depth.saturating_sub(1),
            _ if depth == 1 => {
                let rest = &wkt[i..];
                let upper = rest.get(..10).unwrap_or(rest).to_ascii_uppercase();
                if upper.starts_with("AUTHORITY[") || upper.starts_with("ID[") {
                    let inner = &rest[rest.find('[')? + 1..];
                    let inner = &inner[..inner.find(']')?];
                    let mut parts = inner.split(',').map(|p| p.trim().trim_matches('"'));
                    if parts.next()?.eq_ignore_ascii_case("EPSG") {
                        found = parts.next()?.parse().ok();
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// The first complete top-level WKT node: `PROJCS[…]` of `PROJCS[…],VERTCS[…]`.
fn first_node(wkt: &str) -> &str {
    let mut depth = 0usize;
    for (i, b) in wkt.bytes().enumerate() {
        match b {
            b'[' | b'(' => depth += 1,
            b']' | b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return &wkt[..=i];
                }
            }
            _ => {}
        }
    }
    wkt
}

/// The name of the outermost WKT node: `PROJCS["ETRS_1989_UTM_Zone_32N", …` gives the quoted part.
fn wkt_name(wkt: &str) -> Option<String> {
    let start = wkt.find('"')? + 1;
    let end = start + wkt[start..].find('"')?;
    Some(wkt[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_urns() {
        assert_eq!(epsg_code("EPSG:25832"), Some(25832));
        assert_eq!(epsg_code("urn:ogc:def:crs:EPSG::31467"), Some(31467));
        assert_eq!(
            epsg_code("http://www.opengis.net/def/crs/EPSG/0/3857"),
            Some(3857)
        );
        assert!(Crs::parse("OGC:CRS84").expect("crs84").is_wgs84());
        assert!(Crs::parse("EPSG:4326").expect("4326").is_wgs84());
        assert!(!Crs::parse("EPSG:25832").expect("utm").is_wgs84());
        assert!(Crs::parse("nonsense").is_err());
    }

    /// The central meridian at the equator maps to (9°, 0°) by the definition of UTM zone 32;
    /// the accuracy against PROJ is checked on real data in `tests/outside.rs`.
    #[test]
    fn utm_to_wgs84_round_trip() {
        let utm = Crs::parse("EPSG:25832").expect("utm");
        let t = utm.to_wgs84().expect("needs a transform");
        let (lon, lat) = t.point(500000.0, 0.0).expect("transform");
        assert!((lon - 9.0).abs() < 1e-9 && lat.abs() < 1e-9, "{lon} {lat}");
        let back = Transformer::between(&Crs::wgs84(), &utm).expect("inverse");
        let (x, y) = back.point(6.96, 50.94).expect("forward");
        let (lon, lat) = t.point(x, y).expect("back");
        assert!((lon - 6.96).abs() < 1e-9 && (lat - 50.94).abs() < 1e-9);
    }

    #[test]
    fn prj_with_shifted_false_easting_is_read_by_parameters() {
        let prj = r#"PROJCS["WGS_1984_UTM_Zone_32N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",2500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        let crs = Crs::parse(prj).expect("custom prj");
        assert!(crs.label().starts_with("WGS_1984_UTM_Zone_32N"));
        let t = crs.to_wgs84().expect("transform");
        let (lon, lat) = t.point(2_500_000.0, 0.0).expect("point");
        assert!((lon - 9.0).abs() < 1e-9 && lat.abs() < 1e-9, "{lon} {lat}");
    }

    #[test]
    fn prj_with_epsg_authority_uses_the_code() {
        let prj = r#"PROJCS["ETRS_1989_UTM_Zone_32N",GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0],AUTHORITY["EPSG",25832]]"#;
        let crs = Crs::parse(prj).expect("prj");
        assert_eq!(crs.epsg(), Some(25832));
        assert_eq!(crs.label(), "EPSG:25832");
    }

    #[test]
    fn esri_dhdn_prj_reads_like_epsg_31467() {
        let prj = r#"PROJCS["DHDN_3_Degree_Gauss_Zone_3",GEOGCS["GCS_Deutsches_Hauptdreiecksnetz",DATUM["D_Deutsches_Hauptdreiecksnetz",SPHEROID["Bessel_1841",6377397.155,299.1528128]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",3500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        let from_prj = Crs::parse(prj).expect("prj");
        let from_code = Crs::parse("EPSG:31467").expect("code");
        let (a, b) = (
            from_prj
                .to_wgs84()
                .expect("t")
                .point(3_500_000.0, 5_650_000.0),
            from_code
                .to_wgs84()
                .expect("t")
                .point(3_500_000.0, 5_650_000.0),
        );
        let (a, b) = (a.expect("prj point"), b.expect("code point"));
        assert!(
            (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9,
            "{a:?} {b:?}"
        );
    }
}
