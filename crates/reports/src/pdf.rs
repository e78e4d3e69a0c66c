//! A small PDF 1.4 writer for one-page A4 documents with Chinese text, such as
//! the 志愿服务记录证明.
//!
//! Text uses the standard CJK font `STSong-Light` without embedding it: a Type0
//! font with encoding `UniGB-UTF16-H` over a CIDFontType0 descendant
//! (CIDSystemInfo Adobe/GB1/4). Readers that know the Adobe CJK fonts (Acrobat,
//! pdf.js, Chromium, Poppler with its CJK data) substitute a Song typeface. Text
//! is written as UTF-16BE hex strings, so any character of the Basic
//! Multilingual Plane and beyond (as surrogate pairs) passes unchanged.
//!
//! Coordinates are PDF points from the bottom-left corner of the page.

use std::fmt::Write as _;

/// A4 in points.
pub const A4_WIDTH: f32 = 595.28;
pub const A4_HEIGHT: f32 = 841.89;

/// How text is placed relative to its x coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// One page being drawn: a content stream of text and lines.
#[derive(Debug, Clone, Default)]
pub struct Page {
    ops: String,
}

/// The text as a UTF-16BE hex string body (without the angle brackets).
pub fn utf16_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 4);
    for unit in s.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out
}

/// Read a UTF-16BE hex string back (for tests and checks).
pub fn from_utf16_hex(hex: &str) -> Option<String> {
    let units: Option<Vec<u16>> = hex
        .as_bytes()
        .chunks(4)
        .map(|c| {
            std::str::from_utf8(c)
                .ok()
                .filter(|s| s.len() == 4)
                .and_then(|s| u16::from_str_radix(s, 16).ok())
        })
        .collect();
    String::from_utf16(&units?).ok()
}

/// The width of `s` at `size`, estimated: full-width for CJK and other wide
/// characters, half-width for ASCII (STSong-Light's proportional Latin is close
/// enough for centring).
pub fn text_width(s: &str, size: f32) -> f32 {
    s.chars()
        .map(|c| if c.is_ascii() { 0.5 } else { 1.0 })
        .sum::<f32>()
        * size
}

/// Split `s` into lines no wider than `width` at `size` (breaking anywhere, as
/// Chinese text allows; explicit line breaks are kept).
pub fn wrap(s: &str, size: f32, width: f32) -> Vec<String> {
    let mut out = Vec::new();
    for para in s.lines() {
        let mut line = String::new();
        let mut w = 0.0;
        for c in para.chars() {
            let cw = if c.is_ascii() { 0.5 } else { 1.0 } * size;
            if w + cw > width && !line.is_empty() {
                out.push(std::mem::take(&mut line));
                w = 0.0;
            }
            line.push(c);
            w += cw;
        }
        out.push(line);
    }
    out
}

fn num(v: f32) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".into()
    } else {
        s.to_owned()
    }
}

impl Page {
    pub fn new() -> Page {
        Page::default()
    }

    /// Text at (x, y) baseline, `size` points.
    pub fn text(&mut self, x: f32, y: f32, size: f32, align: Align, s: &str) -> &mut Page {
        let w = text_width(s, size);
        let x = match align {
            Align::Left => x,
            Align::Center => x - w / 2.0,
            Align::Right => x - w,
        };
        let _ = writeln!(
            self.ops,
            "BT /F1 {} Tf {} {} Td <{}> Tj ET",
            num(size),
            num(x),
            num(y),
            utf16_hex(s)
        );
        self
    }

    /// Wrapped text from (x, y) downwards; returns the baseline below the last line.
    pub fn paragraph(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        width: f32,
        leading: f32,
        s: &str,
    ) -> f32 {
        let mut y = y;
        for line in wrap(s, size, width) {
            self.text(x, y, size, Align::Left, &line);
            y -= leading;
        }
        y
    }

    /// A straight line.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) -> &mut Page {
        let _ = writeln!(
            self.ops,
            "{} w {} {} m {} {} l S",
            num(width),
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
        self
    }

    /// A rectangle outline.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) -> &mut Page {
        let _ = writeln!(
            self.ops,
            "{} w {} {} {} {} re S",
            num(width),
            num(x),
            num(y),
            num(w),
            num(h)
        );
        self
    }

    /// Filled black modules, e.g. a QR code: `(col, row)` cells of `cell` points
    /// with the top-left corner at (x, y).
    pub fn modules(&mut self, x: f32, y: f32, cell: f32, dark: &[(u32, u32)]) -> &mut Page {
        for (c, r) in dark {
            let _ = writeln!(
                self.ops,
                "{} {} {} {} re",
                num(x + *c as f32 * cell),
                num(y - (*r as f32 + 1.0) * cell),
                num(cell),
                num(cell)
            );
        }
        if !dark.is_empty() {
            self.ops.push_str("f\n");
        }
        self
    }

    /// The finished one-page A4 document.
    pub fn finish(&self, title: &str) -> Vec<u8> {
        document(&self.ops, title)
    }
}

/// A one-page A4 PDF 1.4 with the content stream `ops` and font `/F1`.
fn document(ops: &str, title: &str) -> Vec<u8> {
    let objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            num(A4_WIDTH),
            num(A4_HEIGHT)
        ),
        format!("<< /Length {} >>\nstream\n{ops}endstream", ops.len()),
        "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UTF16-H /DescendantFonts [6 0 R] >>".into(),
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 7 0 R /DW 1000 >>".into(),
        "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>".into(),
        format!("<< /Title <FEFF{}> /Producer (Shequ) >>", utf16_hex(title)),
    ];
    let mut out: Vec<u8> = Vec::new();
    out.extend_from_slice(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in &offsets {
        let _ = writeln!(tail, "{o:010} 00000 n ");
    }
    let _ = write!(
        tail,
        "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1,
        objects.len()
    );
    out.extend_from_slice(tail.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut p = Page::new();
        p.text(
            A4_WIDTH / 2.0,
            760.0,
            24.0,
            Align::Center,
            "志愿服务记录证明",
        )
        .text(72.0, 700.0, 12.0, Align::Left, "编号：ZM2025-000001-K7QXR")
        .line(72.0, 690.0, 523.0, 690.0, 0.5)
        .rect(40.0, 40.0, 515.0, 760.0, 1.0)
        .modules(400.0, 200.0, 2.0, &[(0, 0), (1, 1)]);
        p.paragraph(
            72.0,
            650.0,
            12.0,
            450.0,
            18.0,
            &"参加志愿服务活动".repeat(10),
        );
        p.finish("志愿服务记录证明")
    }

    #[test]
    fn starts_with_the_header_and_ends_with_eof() {
        let pdf = sample();
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
    }

    #[test]
    fn xref_offsets_point_at_their_objects() {
        let pdf = sample();
        let text = String::from_utf8_lossy(&pdf).into_owned();
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap();
        assert!(pdf[start..].starts_with(b"xref\n"));
        let table = String::from_utf8_lossy(&pdf[start..]).into_owned();
        let mut lines = table.lines().skip(1);
        let header = lines.next().unwrap();
        let count: usize = header.split(' ').nth(1).unwrap().parse().unwrap();
        assert_eq!(count, 9);
        let entries: Vec<&str> = lines.take(count).collect();
        assert_eq!(entries[0], "0000000000 65535 f ");
        for (i, e) in entries.iter().enumerate().skip(1) {
            assert_eq!(e.len(), 19, "each entry is 20 bytes with its newline");
            let off: usize = e[..10].parse().unwrap();
            let want = format!("{i} 0 obj");
            assert!(
                pdf[off..].starts_with(want.as_bytes()),
                "object {i} at {off}"
            );
        }
        // The stream's /Length is its exact byte count.
        let s = text.find("stream\n").unwrap() + 7;
        let e = text.find("endstream").unwrap();
        let len_at = text.find("/Length ").unwrap() + 8;
        let len: usize = text[len_at..].split(' ').next().unwrap().parse().unwrap();
        assert_eq!(e - s, len);
    }

    #[test]
    fn text_round_trips_as_utf16be_hex() {
        assert_eq!(utf16_hex("志A"), "5FD70041");
        assert_eq!(utf16_hex("𠀀"), "D840DC00");
        for s in [
            "志愿服务记录证明",
            "编号：ZM2025-000001",
            "邵阳市 · 兴隆街道",
            "𠀀",
        ] {
            assert_eq!(from_utf16_hex(&utf16_hex(s)).as_deref(), Some(s));
        }
        let pdf = String::from_utf8_lossy(&sample()).into_owned();
        assert!(pdf.contains(&format!("<{}> Tj", utf16_hex("志愿服务记录证明"))));
        assert!(pdf.contains("/BaseFont /STSong-Light /Encoding /UniGB-UTF16-H"));
        assert!(pdf.contains("/Registry (Adobe) /Ordering (GB1) /Supplement 4"));
        assert!(from_utf16_hex("5FD").is_none());
    }

    #[test]
    fn wrapping_and_widths() {
        assert_eq!(text_width("志愿ab", 10.0), 30.0);
        let lines = wrap("一二三四五六七八九十", 10.0, 35.0);
        assert_eq!(lines, vec!["一二三", "四五六", "七八九", "十"]);
        assert_eq!(wrap("甲\n乙", 10.0, 100.0), vec!["甲", "乙"]);
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(-0.001), "0");
    }
}
