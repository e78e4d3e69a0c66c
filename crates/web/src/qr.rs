//! QR codes drawn as inline SVG (no script, no external image), for check-in
//! codes at a venue and certificate verification links.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG QR code of `text`, `size` pixels square; `None` if the text is too long.
pub fn svg(text: &str, size: u32) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(size, size)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_an_svg_and_refuses_overlong_text() {
        let s = super::svg("https://example.invalid/v/ZS4305-2026-000001", 160).unwrap();
        assert!(s.starts_with("<?xml") || s.starts_with("<svg"));
        assert!(s.contains("<path") || s.contains("<rect"));
        assert!(super::svg(&"x".repeat(5000), 160).is_none());
    }
}
