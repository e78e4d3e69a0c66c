//! Locations: a WGS-84 point and a GeoJSON polygon outline.

use crate::validation::FieldErrors;
use serde::{Deserialize, Serialize};

/// A point in WGS-84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub lon: f64,
    pub lat: f64,
}

impl Point {
    pub fn new(lon: f64, lat: f64) -> Result<Point, FieldErrors> {
        let mut errs = FieldErrors::new();
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            errs.add("lon", "bad_longitude", "经度应在 -180 到 180 之间");
        }
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            errs.add("lat", "bad_latitude", "纬度应在 -90 到 90 之间");
        }
        errs.into_result().map(|()| Point { lon, lat })
    }

    /// Great-circle distance in metres (haversine).
    pub fn distance_m(&self, other: &Point) -> f64 {
        let r = 6_371_008.8_f64;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * r * a.sqrt().asin()
    }
}

/// Largest polygon we accept, in vertices over all rings.
pub const MAX_POLYGON_VERTICES: usize = 20_000;

/// Check a GeoJSON `Polygon` geometry: closed rings of at least four valid positions.
/// Returns the normalised JSON text to store.
pub fn validate_polygon(json: &str) -> Result<String, FieldErrors> {
    let mut errs = FieldErrors::new();
    let bad =
        |errs: &mut FieldErrors, msg: &str| errs.add("polygon", "bad_polygon", msg.to_owned());
    #[derive(Deserialize, Serialize)]
    struct Geometry {
        #[serde(rename = "type")]
        kind: String,
        coordinates: Vec<Vec<[f64; 2]>>,
    }
    let Ok(g) = serde_json::from_str::<Geometry>(json) else {
        bad(
            &mut errs,
            "边界应为 GeoJSON Polygon：{\"type\":\"Polygon\",\"coordinates\":[[[经度,纬度],…]]}",
        );
        return Err(errs);
    };
    if g.kind != "Polygon" {
        bad(&mut errs, "边界的 type 应为 Polygon");
    }
    if g.coordinates.is_empty() {
        bad(&mut errs, "边界至少需要一个环");
    }
    let total: usize = g.coordinates.iter().map(Vec::len).sum();
    if total > MAX_POLYGON_VERTICES {
        bad(&mut errs, "边界顶点过多");
    }
    for ring in &g.coordinates {
        if ring.len() < 4 || ring.first() != ring.last() {
            bad(&mut errs, "每个环至少 4 个点，且首尾相同");
            break;
        }
        if ring
            .iter()
            .any(|[lon, lat]| Point::new(*lon, *lat).is_err())
        {
            bad(&mut errs, "边界中有超出范围的经纬度");
            break;
        }
    }
    errs.into_result()?;
    serde_json::to_string(&g).map_err(|_| {
        let mut e = FieldErrors::new();
        e.add("polygon", "bad_polygon", "边界无法保存");
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_bounded() {
        assert!(Point::new(111.47, 27.24).is_ok());
        assert!(Point::new(181.0, 27.0).is_err());
        assert!(Point::new(111.0, f64::NAN).is_err());
    }

    #[test]
    fn polygons_must_close() {
        let ok = r#"{"type":"Polygon","coordinates":[[[111,27],[112,27],[112,28],[111,27]]]}"#;
        assert!(validate_polygon(ok).is_ok());
        let open = r#"{"type":"Polygon","coordinates":[[[111,27],[112,27],[112,28],[111,28]]]}"#;
        assert!(validate_polygon(open).is_err());
        assert!(validate_polygon("not json").is_err());
    }

    #[test]
    fn distance_is_sane() {
        let a = Point::new(111.0, 27.0).unwrap();
        let b = Point::new(111.0, 28.0).unwrap();
        assert!((a.distance_m(&b) - 111_195.0).abs() < 200.0);
    }
}
