//! Photos that residents attach to work orders, usually straight from a phone camera.
//!
//! [`clean`] accepts only JPEG and PNG, recognised by their leading bytes (a file name or a
//! declared content type is never trusted), checks the file's structure and rewrites it
//! without metadata: EXIF (which carries the GPS position of the shot), XMP, comments and
//! text chunks are dropped, while everything needed to show the picture correctly is kept.
//! Anything after the end-of-image marker (padding, appended videos or archives) is cut.
//!
//! The output of [`clean`] is a fixed point: cleaning it again returns the same bytes.

use std::fmt;

/// The largest upload accepted, in bytes.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// The largest width and height accepted, in pixels.
pub const MAX_SIDE: u32 = 20_000;

/// A photo that passed [`clean`]: a well-formed JPEG or PNG without metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct Photo {
    /// `"image/jpeg"` or `"image/png"`.
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl Photo {
    /// The usual file extension for the content type, without the dot.
    pub fn extension(&self) -> &'static str {
        if self.content_type == PNG_TYPE {
            "png"
        } else {
            "jpg"
        }
    }
}

impl fmt::Debug for Photo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Photo")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Why an upload is not accepted as a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("照片文件是空的，请重新选择照片")]
    Empty,
    #[error("照片不能超过 5 MB")]
    TooLarge,
    #[error("只接受 JPEG 或 PNG 照片")]
    NotAnImage,
    /// The detail names the defect, for logs; it is not shown to users.
    #[error("照片文件已损坏，请重新拍摄或选择其他照片")]
    Corrupt(&'static str),
    /// Width and height, in pixels.
    #[error("照片尺寸过大（{0}×{1} 像素），长和宽都不能超过 20000 像素")]
    TooBig(u32, u32),
}

impl PhotoError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::Empty => "empty_photo",
            PhotoError::TooLarge => "photo_too_large",
            PhotoError::NotAnImage => "not_an_image",
            PhotoError::Corrupt(_) => "corrupt_photo",
            PhotoError::TooBig(..) => "photo_dimensions",
        }
    }
}

const JPEG_TYPE: &str = "image/jpeg";
const PNG_TYPE: &str = "image/png";

/// Checks an upload and returns it without metadata.
pub fn clean(input: &[u8]) -> Result<Photo, PhotoError> {
    if input.is_empty() {
        return Err(PhotoError::Empty);
    }
    if input.len() > MAX_BYTES {
        return Err(PhotoError::TooLarge);
    }
    if input.starts_with(&jpeg::SIGNATURE) {
        jpeg::clean(input)
    } else if input.starts_with(&png::MAGIC) {
        png::clean(input)
    } else {
        Err(PhotoError::NotAnImage)
    }
}

fn check_dimensions(width: u32, height: u32) -> Result<(), PhotoError> {
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt("zero width or height"));
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(PhotoError::TooBig(width, height));
    }
    Ok(())
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let pair = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(pair.try_into().ok()?))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let quad = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(quad.try_into().ok()?))
}

/// JPEG: a walk over the marker segments, the scans between them and the end marker.
mod jpeg {
    use super::{JPEG_TYPE, Photo, PhotoError, be16, check_dimensions};

    pub(super) const SIGNATURE: [u8; 2] = [0xFF, SOI];

    const SOI: u8 = 0xD8;
    const EOI: u8 = 0xD9;
    const SOS: u8 = 0xDA;
    const APP1: u8 = 0xE1;
    const APP14: u8 = 0xEE;
    const APP15: u8 = 0xEF;
    const COM: u8 = 0xFE;
    const TEM: u8 = 0x01;
    const STUFFING: u8 = 0x00;

    const TRUNCATED: PhotoError = PhotoError::Corrupt("jpeg: truncated");

    pub(super) fn clean(input: &[u8]) -> Result<Photo, PhotoError> {
        let mut out = Vec::with_capacity(input.len());
        out.extend_from_slice(&SIGNATURE);
        let mut pos = SIGNATURE.len();
        let mut size = None;
        let mut scanned = false;
        loop {
            let (marker, after) = read_marker(input, pos)?;
            pos = match marker {
                EOI => return finish(out, size, scanned),
                SOI => return Err(PhotoError::Corrupt("jpeg: nested start of image")),
                STUFFING => return Err(PhotoError::Corrupt("jpeg: stuffing outside a scan")),
                m if is_standalone(m) => after,
                _ => {
                    let (payload, next) = read_segment(input, after)?;
                    if is_frame(marker) {
                        record_frame(payload, &mut size)?;
                    }
                    if keeps(marker, payload) {
                        write_segment(&mut out, marker, payload)?;
                    }
                    if marker != SOS {
                        next
                    } else if size.is_none() {
                        return Err(PhotoError::Corrupt("jpeg: scan before frame header"));
                    } else {
                        scanned = true;
                        copy_scan(input, next, &mut out)?
                    }
                }
            };
        }
    }

    fn finish(
        mut out: Vec<u8>,
        size: Option<(u32, u32)>,
        scanned: bool,
    ) -> Result<Photo, PhotoError> {
        let Some((width, height)) = size else {
            return Err(PhotoError::Corrupt("jpeg: no frame header"));
        };
        if !scanned {
            return Err(PhotoError::Corrupt("jpeg: no image data"));
        }
        out.extend_from_slice(&[0xFF, EOI]);
        Ok(Photo {
            content_type: JPEG_TYPE,
            bytes: out,
            width,
            height,
        })
    }

    /// Reads the marker at `pos`, skipping fill bytes; returns it and the position after it.
    fn read_marker(input: &[u8], pos: usize) -> Result<(u8, usize), PhotoError> {
        let Some(rest) = input.get(pos..) else {
            return Err(TRUNCATED);
        };
        match rest.first() {
            None => return Err(TRUNCATED),
            Some(0xFF) => {}
            Some(_) => return Err(PhotoError::Corrupt("jpeg: expected a marker")),
        }
        let fills = rest.iter().take_while(|&&b| b == 0xFF).count();
        let marker = *rest.get(fills).ok_or(TRUNCATED)?;
        let after = pos.checked_add(fills).and_then(|p| p.checked_add(1));
        Ok((marker, after.ok_or(TRUNCATED)?))
    }

    /// Reads the length-prefixed payload that starts at `at`; returns it and the position after it.
    fn read_segment(input: &[u8], at: usize) -> Result<(&[u8], usize), PhotoError> {
        let len = usize::from(be16(input, at).ok_or(TRUNCATED)?);
        if len < 2 {
            return Err(PhotoError::Corrupt("jpeg: bad segment length"));
        }
        let start = at.checked_add(2).ok_or(TRUNCATED)?;
        let end = at.checked_add(len).ok_or(TRUNCATED)?;
        let payload = input.get(start..end).ok_or(TRUNCATED)?;
        Ok((payload, end))
    }

    fn write_segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) -> Result<(), PhotoError> {
        let len = payload
            .len()
            .checked_add(2)
            .and_then(|n| u16::try_from(n).ok())
            .ok_or(PhotoError::Corrupt("jpeg: segment too long"))?;
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(payload);
        Ok(())
    }

    /// Copies entropy-coded data from `pos` up to the next marker that is not part of the
    /// scan (stuffing and restart markers are), dropping fill bytes; returns that marker's position.
    fn copy_scan(input: &[u8], pos: usize, out: &mut Vec<u8>) -> Result<usize, PhotoError> {
        let mut pos = pos;
        loop {
            let rest = input.get(pos..).ok_or(TRUNCATED)?;
            let data_len = rest.iter().position(|&b| b == 0xFF).ok_or(TRUNCATED)?;
            out.extend_from_slice(rest.get(..data_len).ok_or(TRUNCATED)?);
            let marker_at = pos.checked_add(data_len).ok_or(TRUNCATED)?;
            let (marker, after) = read_marker(input, marker_at)?;
            if marker != STUFFING && !is_standalone(marker) {
                return Ok(marker_at);
            }
            out.extend_from_slice(&[0xFF, marker]);
            pos = after;
        }
    }

    /// Markers without a length: restart markers and TEM.
    fn is_standalone(marker: u8) -> bool {
        marker == TEM || (0xD0..=0xD7).contains(&marker)
    }

    /// Start-of-frame markers SOF0–SOF15, which share their range with DHT, JPG and DAC.
    fn is_frame(marker: u8) -> bool {
        (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
    }

    fn record_frame(payload: &[u8], size: &mut Option<(u32, u32)>) -> Result<(), PhotoError> {
        if size.is_some() {
            return Err(PhotoError::Corrupt("jpeg: more than one frame header"));
        }
        let short = PhotoError::Corrupt("jpeg: short frame header");
        if payload.len() < 6 {
            return Err(short);
        }
        let height = u32::from(be16(payload, 1).ok_or(short)?);
        let width = u32::from(be16(payload, 3).ok_or(short)?);
        check_dimensions(width, height)?;
        *size = Some((width, height));
        Ok(())
    }

    /// Drops APP1–APP15 (EXIF, XMP, ICC, maker notes …) except the Adobe colour-transform
    /// segment, and comments; keeps APP0 (JFIF) and every decoding table and header.
    fn keeps(marker: u8, payload: &[u8]) -> bool {
        match marker {
            APP1..=APP15 => marker == APP14 && payload.starts_with(b"Adobe"),
            COM => false,
            _ => true,
        }
    }
}

/// PNG: a walk over the chunks, each CRC-checked, from IHDR to IEND.
mod png {
    use super::{PNG_TYPE, Photo, PhotoError, be32, check_dimensions};

    pub(super) const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    /// Enough of the signature to tell a PNG (possibly damaged) from other files.
    pub(super) const MAGIC: [u8; 4] = [0x89, b'P', b'N', b'G'];

    /// Ancillary chunks that affect how the picture looks; every other ancillary chunk is dropped.
    const KEPT_ANCILLARY: [&[u8; 4]; 8] = [
        b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs", b"bKGD",
    ];

    const TRUNCATED: PhotoError = PhotoError::Corrupt("png: truncated");
    /// Chunk lengths are limited to 2^31 - 1 by the format.
    const MAX_CHUNK_LEN: u32 = 0x7FFF_FFFF;

    struct Chunk<'a> {
        kind: [u8; 4],
        data: &'a [u8],
        /// The whole chunk: length, type, data and CRC.
        raw: &'a [u8],
    }

    pub(super) fn clean(input: &[u8]) -> Result<Photo, PhotoError> {
        if !input.starts_with(&SIGNATURE) {
            return Err(PhotoError::Corrupt("png: bad signature"));
        }
        let mut out = Vec::with_capacity(input.len());
        out.extend_from_slice(&SIGNATURE);
        let (header, mut pos) = read_chunk(input, SIGNATURE.len())?;
        let (width, height) = read_header(&header)?;
        out.extend_from_slice(header.raw);
        let mut has_data = false;
        loop {
            let (chunk, next) = read_chunk(input, pos)?;
            match &chunk.kind {
                b"IEND" => return finish(out, &chunk, has_data, (width, height)),
                b"IHDR" => return Err(PhotoError::Corrupt("png: repeated header")),
                b"IDAT" => has_data = true,
                _ => {}
            }
            if keeps(&chunk.kind) {
                out.extend_from_slice(chunk.raw);
            }
            pos = next;
        }
    }

    fn finish(
        mut out: Vec<u8>,
        end: &Chunk<'_>,
        has_data: bool,
        (width, height): (u32, u32),
    ) -> Result<Photo, PhotoError> {
        if !end.data.is_empty() {
            return Err(PhotoError::Corrupt("png: IEND with data"));
        }
        if !has_data {
            return Err(PhotoError::Corrupt("png: no image data"));
        }
        out.extend_from_slice(end.raw);
        Ok(Photo {
            content_type: PNG_TYPE,
            bytes: out,
            width,
            height,
        })
    }

    /// Reads and CRC-checks the chunk at `pos`; returns it and the position after it.
    fn read_chunk(input: &[u8], pos: usize) -> Result<(Chunk<'_>, usize), PhotoError> {
        let len = be32(input, pos).ok_or(TRUNCATED)?;
        if len > MAX_CHUNK_LEN {
            return Err(PhotoError::Corrupt("png: bad chunk length"));
        }
        let data_len = usize::try_from(len).map_err(|_| TRUNCATED)?;
        let crc_at = data_len.checked_add(8).ok_or(TRUNCATED)?;
        let total = crc_at.checked_add(4).ok_or(TRUNCATED)?;
        let end = pos.checked_add(total).ok_or(TRUNCATED)?;
        let raw = input.get(pos..end).ok_or(TRUNCATED)?;
        let kind: [u8; 4] = raw
            .get(4..8)
            .and_then(|k| k.try_into().ok())
            .ok_or(TRUNCATED)?;
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(PhotoError::Corrupt("png: bad chunk type"));
        }
        let data = raw.get(8..crc_at).ok_or(TRUNCATED)?;
        let stored = be32(raw, crc_at).ok_or(TRUNCATED)?;
        if crc32(raw.get(4..crc_at).ok_or(TRUNCATED)?) != stored {
            return Err(PhotoError::Corrupt("png: CRC mismatch"));
        }
        Ok((Chunk { kind, data, raw }, end))
    }

    /// Checks IHDR and returns width and height.
    fn read_header(chunk: &Chunk<'_>) -> Result<(u32, u32), PhotoError> {
        if &chunk.kind != b"IHDR" {
            return Err(PhotoError::Corrupt("png: first chunk is not IHDR"));
        }
        let bad = PhotoError::Corrupt("png: bad IHDR");
        let [
            w0,
            w1,
            w2,
            w3,
            h0,
            h1,
            h2,
            h3,
            depth,
            colour,
            compression,
            filter,
            interlace,
        ] = *chunk.data
        else {
            return Err(bad);
        };
        let width = u32::from_be_bytes([w0, w1, w2, w3]);
        let height = u32::from_be_bytes([h0, h1, h2, h3]);
        check_dimensions(width, height)?;
        if !valid_depth(colour, depth) || compression != 0 || filter != 0 || interlace > 1 {
            return Err(bad);
        }
        Ok((width, height))
    }

    /// Bit depths the format allows for each colour type.
    fn valid_depth(colour: u8, depth: u8) -> bool {
        match colour {
            0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
            3 => matches!(depth, 1 | 2 | 4 | 8),
            2 | 4 | 6 => matches!(depth, 8 | 16),
            _ => false,
        }
    }

    /// Critical chunks (upper-case first letter) are always kept.
    pub(super) fn keeps(kind: &[u8; 4]) -> bool {
        kind[0].is_ascii_uppercase() || KEPT_ANCILLARY.contains(&kind)
    }

    const CRC_TABLE: [u32; 256] = crc_table();

    const fn crc_table() -> [u32; 256] {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    }

    /// CRC-32 (IEEE 802.3), as used by PNG.
    pub(super) fn crc32(bytes: &[u8]) -> u32 {
        !bytes.iter().fold(!0u32, |crc, &b| {
            CRC_TABLE[usize::from(crc.to_le_bytes()[0] ^ b)] ^ (crc >> 8)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    // ---- builders -------------------------------------------------------------------

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(payload.len() + 2).unwrap();
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&len.to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    fn sof0(width: u16, height: u16) -> Vec<u8> {
        let mut p = vec![8];
        p.extend_from_slice(&height.to_be_bytes());
        p.extend_from_slice(&width.to_be_bytes());
        p.extend_from_slice(&[1, 1, 0x11, 0]);
        segment(0xC0, &p)
    }

    const JFIF: &[u8] = b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
    const SCAN_DATA: &[u8] = &[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD0, 0x78];

    fn jpeg_with(frame: &[u8], extra_header: &[u8]) -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        j.extend(segment(0xE0, JFIF));
        j.extend(segment(0xE1, b"Exif\0\0MM\0*GPS 39.9042N 116.4074E"));
        j.extend(segment(0xFE, b"GPS comment from camera"));
        j.extend_from_slice(extra_header);
        let mut dqt = vec![0u8];
        dqt.extend([1u8; 64]);
        j.extend(segment(0xDB, &dqt));
        j.extend_from_slice(frame);
        let mut dht = vec![0x00, 1];
        dht.extend([0u8; 15]);
        dht.push(0);
        j.extend(segment(0xC4, &dht));
        j.extend(segment(0xDA, &[1, 1, 0x00, 0, 0x3F, 0]));
        j.extend_from_slice(SCAN_DATA);
        j.extend_from_slice(&[0xFF, 0xD9]);
        j
    }

    fn sample_jpeg() -> Vec<u8> {
        jpeg_with(&sof0(16, 8), &[])
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let crc = png::crc32(&c[4..]);
        c.extend_from_slice(&crc.to_be_bytes());
        c
    }

    fn ihdr(width: u32, height: u32) -> Vec<u8> {
        let mut d = width.to_be_bytes().to_vec();
        d.extend_from_slice(&height.to_be_bytes());
        d.extend_from_slice(&[8, 2, 0, 0, 0]);
        chunk(b"IHDR", &d)
    }

    const IDAT_DATA: &[u8] = &[
        0x78, 0x9C, 0x63, 0x60, 0x60, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01,
    ];

    fn png_from(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut p = png::SIGNATURE.to_vec();
        for c in chunks {
            p.extend_from_slice(c);
        }
        p
    }

    fn sample_png() -> Vec<u8> {
        png_from(&[
            ihdr(3, 2),
            chunk(b"tEXt", b"GPS\x0039.9042N 116.4074E"),
            chunk(b"gAMA", &45455u32.to_be_bytes()),
            chunk(b"IDAT", IDAT_DATA),
            chunk(b"IEND", b""),
        ])
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    fn code(input: &[u8]) -> &'static str {
        clean(input).unwrap_err().code()
    }

    fn assert_idempotent(photo: &Photo) {
        assert_eq!(clean(&photo.bytes).as_ref(), Ok(photo));
    }

    // ---- JPEG -----------------------------------------------------------------------

    #[test]
    fn jpeg_metadata_is_removed_and_structure_kept() {
        let input = sample_jpeg();
        assert!(contains(&input, b"GPS") && contains(&input, b"Exif"));
        let photo = clean(&input).unwrap();
        assert_eq!(photo.content_type, "image/jpeg");
        assert_eq!(photo.extension(), "jpg");
        assert_eq!((photo.width, photo.height), (16, 8));
        assert!(!contains(&photo.bytes, b"GPS"));
        assert!(!contains(&photo.bytes, b"Exif"));
        assert!(!contains(&photo.bytes, &[0xFF, 0xFE]));
        assert!(contains(&photo.bytes, &segment(0xE0, JFIF)));
        assert!(contains(&photo.bytes, &sof0(16, 8)));
        assert!(photo.bytes.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0]));
        let scan = [
            &[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0][..],
            SCAN_DATA,
            &[0xFF, 0xD9],
        ];
        assert!(photo.bytes.ends_with(&scan.concat()));
        assert_idempotent(&photo);
    }

    #[test]
    fn jpeg_exact_output() {
        let photo = clean(&sample_jpeg()).unwrap();
        let mut expected = vec![0xFF, 0xD8];
        expected.extend(segment(0xE0, JFIF));
        let without_metadata = sample_jpeg();
        let dqt_at = without_metadata
            .windows(2)
            .position(|w| w == [0xFF, 0xDB])
            .unwrap();
        expected.extend_from_slice(&without_metadata[dqt_at..]);
        assert_eq!(photo.bytes, expected);
    }

    #[test]
    fn jpeg_keeps_adobe_and_drops_other_app_segments() {
        let mut extra = segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01");
        extra.extend(segment(0xE2, b"ICC_PROFILE\0\x01\x01profile"));
        extra.extend(segment(0xED, b"Photoshop 3.0\0GPS"));
        extra.extend(segment(0xEE, b"NotAdobe"));
        extra.extend(segment(0xEF, b"vendor"));
        let photo = clean(&jpeg_with(&sof0(16, 8), &extra)).unwrap();
        assert!(contains(
            &photo.bytes,
            &segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01")
        ));
        for gone in [
            &b"ICC_PROFILE"[..],
            b"Photoshop",
            b"NotAdobe",
            b"vendor",
            b"GPS",
        ] {
            assert!(!contains(&photo.bytes, gone));
        }
        assert_idempotent(&photo);
    }

    #[test]
    fn jpeg_fill_bytes_and_standalone_markers() {
        // Fill bytes before a header marker, a stray RST and TEM between segments,
        // and fill bytes inside the scan before a restart marker and before EOI.
        let extra = [0xFF, 0xD3, 0xFF, 0x01, 0xFF, 0xFF];
        let mut input = jpeg_with(&sof0(16, 8), &extra);
        let eoi = input.len() - 2;
        input.splice(eoi..eoi, [0x9A, 0xFF, 0xFF, 0xD1, 0xBC, 0xFF, 0xFF]);
        let photo = clean(&input).unwrap();
        assert!(!contains(&photo.bytes, &[0xFF, 0xFF]));
        assert!(!contains(&photo.bytes, &[0xFF, 0xD3]));
        let mut tail = SCAN_DATA.to_vec();
        tail.extend_from_slice(&[0x9A, 0xFF, 0xD1, 0xBC, 0xFF, 0xD9]);
        assert!(photo.bytes.ends_with(&tail));
        assert_idempotent(&photo);
    }

    #[test]
    fn jpeg_progressive_scans_and_tables_between_them() {
        let mut input = jpeg_with(&sof0(16, 8), &[]);
        let eoi = input.len() - 2;
        let mut between = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0GPS");
        between.extend(segment(
            0xC4,
            &[0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7],
        ));
        between.extend(segment(0xDA, &[1, 1, 0x00, 1, 5, 0]));
        between.extend_from_slice(&[0x11, 0x22]);
        input.splice(eoi..eoi, between);
        let photo = clean(&input).unwrap();
        assert!(!contains(&photo.bytes, b"GPS"));
        assert!(
            photo
                .bytes
                .ends_with(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 1, 5, 0, 0x11, 0x22, 0xFF, 0xD9])
        );
        assert_idempotent(&photo);
    }

    #[test]
    fn jpeg_trailing_bytes_after_eoi_are_cut() {
        let clean_sample = clean(&sample_jpeg()).unwrap();
        for tail in [&[0u8; 37][..], b"appended video or archive \xFF\xD9"] {
            let mut input = sample_jpeg();
            input.extend_from_slice(tail);
            assert_eq!(clean(&input).unwrap(), clean_sample);
        }
    }

    #[test]
    fn jpeg_truncated_anywhere_is_corrupt() {
        let input = sample_jpeg();
        for n in 2..input.len() {
            assert_eq!(code(&input[..n]), "corrupt_photo", "prefix of {n} bytes");
        }
    }

    #[test]
    fn jpeg_structural_defects_are_corrupt() {
        let no_frame = jpeg_with(&[], &[]);
        assert_eq!(
            clean(&no_frame),
            Err(PhotoError::Corrupt("jpeg: scan before frame header"))
        );
        assert_eq!(code(&no_frame), "corrupt_photo");
        assert_eq!(code(&jpeg_with(&sof0(0, 8), &[])), "corrupt_photo");
        assert_eq!(code(&jpeg_with(&sof0(16, 0), &[])), "corrupt_photo");
        let two_frames = [sof0(16, 8), sof0(16, 8)].concat();
        assert_eq!(code(&jpeg_with(&two_frames, &[])), "corrupt_photo");
        // A segment length of 1, and one running past the end of the file.
        assert_eq!(
            code(&jpeg_with(&sof0(16, 8), &[0xFF, 0xE0, 0x00, 0x01])),
            "corrupt_photo"
        );
        let mut long = sample_jpeg();
        long.splice(2..2, [0xFF, 0xE0, 0xFF, 0xFF]);
        assert_eq!(code(&long), "corrupt_photo");
        // Garbage where a marker should be, a second SOI, end of image before any scan.
        assert_eq!(code(&jpeg_with(&sof0(16, 8), b"junk")), "corrupt_photo");
        assert_eq!(
            code(&jpeg_with(&sof0(16, 8), &[0xFF, 0xD8])),
            "corrupt_photo"
        );
        assert_eq!(code(&[0xFF, 0xD8, 0xFF, 0xD9]), "corrupt_photo");
        assert_eq!(code(&[0xFF, 0xD8]), "corrupt_photo");
        // A DHT/DAC/JPG marker is not mistaken for a frame header.
        let dac = segment(0xCC, &[0, 0, 0x10, 0, 0x10, 0]);
        assert_eq!(code(&jpeg_with(&dac, &[])), "corrupt_photo");
    }

    #[test]
    fn jpeg_dimensions_are_limited() {
        let input = jpeg_with(&sof0(30000, 8), &[]);
        assert_eq!(clean(&input), Err(PhotoError::TooBig(30000, 8)));
        assert_eq!(code(&input), "photo_dimensions");
        let edge = clean(&jpeg_with(&sof0(20000, 20000), &[])).unwrap();
        assert_eq!((edge.width, edge.height), (20000, 20000));
        let progressive = segment(0xC2, &[8, 0, 5, 0, 7, 1, 1, 0x11, 0]);
        let photo = clean(&jpeg_with(&progressive, &[])).unwrap();
        assert_eq!((photo.width, photo.height), (7, 5));
    }

    // ---- PNG ------------------------------------------------------------------------

    #[test]
    fn png_metadata_is_removed_and_structure_kept() {
        let input = sample_png();
        assert!(contains(&input, b"GPS"));
        let photo = clean(&input).unwrap();
        assert_eq!(photo.content_type, "image/png");
        assert_eq!(photo.extension(), "png");
        assert_eq!((photo.width, photo.height), (3, 2));
        assert!(!contains(&photo.bytes, b"GPS"));
        assert!(!contains(&photo.bytes, b"tEXt"));
        let expected = png_from(&[
            ihdr(3, 2),
            chunk(b"gAMA", &45455u32.to_be_bytes()),
            chunk(b"IDAT", IDAT_DATA),
            chunk(b"IEND", b""),
        ]);
        assert_eq!(photo.bytes, expected);
        assert_idempotent(&photo);
    }

    #[test]
    fn png_drops_every_metadata_chunk_and_keeps_rendering_chunks() {
        let dropped = [
            chunk(b"zTXt", b"Comment\0\0x"),
            chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0GPS"),
            chunk(b"eXIf", b"MM\0*Exif GPS"),
            chunk(b"tIME", &[7, 232, 1, 2, 3, 4, 5]),
            chunk(b"prVt", b"vendor notes"),
            chunk(b"acTL", &[0, 0, 0, 1, 0, 0, 0, 0]),
        ];
        let kept = [
            chunk(b"sRGB", &[0]),
            chunk(b"cHRM", &[0; 32]),
            chunk(b"iCCP", b"icc\0\0\x78\x9C"),
            chunk(b"sBIT", &[8, 8, 8]),
            chunk(b"pHYs", &[0, 0, 11, 19, 0, 0, 11, 19, 1]),
            chunk(b"PLTE", &[0, 0, 0, 255, 255, 255]),
            chunk(b"bKGD", &[0, 0, 0, 0, 0, 0]),
            chunk(b"tRNS", &[0, 0, 0, 0, 0, 0]),
        ];
        let mut chunks = vec![ihdr(3, 2)];
        for (d, k) in dropped.iter().zip(&kept) {
            chunks.push(d.clone());
            chunks.push(k.clone());
        }
        chunks.extend(kept[dropped.len()..].iter().cloned());
        chunks.push(chunk(b"IDAT", IDAT_DATA));
        chunks.push(chunk(b"IDAT", IDAT_DATA));
        chunks.push(chunk(b"IEND", b""));
        let photo = clean(&png_from(&chunks)).unwrap();
        let mut expected = vec![ihdr(3, 2)];
        expected.extend(kept.iter().cloned());
        expected.push(chunk(b"IDAT", IDAT_DATA));
        expected.push(chunk(b"IDAT", IDAT_DATA));
        expected.push(chunk(b"IEND", b""));
        assert_eq!(photo.bytes, png_from(&expected));
        assert_idempotent(&photo);
    }

    #[test]
    fn png_bad_crc_is_corrupt() {
        let mut input = sample_png();
        let idat = input.windows(4).position(|w| w == b"IDAT").unwrap();
        input[idat + 5] ^= 0x01;
        assert_eq!(clean(&input), Err(PhotoError::Corrupt("png: CRC mismatch")));
        // A CRC error in a chunk that would be dropped still rejects the file.
        let mut input = sample_png();
        let text = input.windows(4).position(|w| w == b"tEXt").unwrap();
        input[text + 4] = b'X';
        assert_eq!(code(&input), "corrupt_photo");
    }

    #[test]
    fn png_truncated_anywhere_is_corrupt() {
        let input = sample_png();
        for n in 4..input.len() {
            assert_eq!(code(&input[..n]), "corrupt_photo", "prefix of {n} bytes");
        }
    }

    #[test]
    fn png_structural_defects_are_corrupt() {
        let idat = chunk(b"IDAT", IDAT_DATA);
        let iend = chunk(b"IEND", b"");
        let cases = [
            png_from(&[
                chunk(b"gAMA", &[0, 0, 0, 1]),
                ihdr(3, 2),
                idat.clone(),
                iend.clone(),
            ]),
            png_from(&[ihdr(3, 2), iend.clone()]),
            png_from(&[ihdr(3, 2), idat.clone()]),
            png_from(&[ihdr(3, 2), idat.clone(), chunk(b"IEND", b"x")]),
            png_from(&[ihdr(3, 2), ihdr(3, 2), idat.clone(), iend.clone()]),
            png_from(&[
                chunk(b"IHDR", &[0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0]),
                idat.clone(),
                iend.clone(),
            ]),
            png_from(&[
                chunk(b"IHDR", &[0, 0, 0, 3, 0, 0, 0, 2, 7, 2, 0, 0, 0]),
                idat.clone(),
                iend.clone(),
            ]),
            png_from(&[ihdr(0, 2), idat.clone(), iend.clone()]),
            png_from(&[ihdr(3, 2), chunk(b"ID4T", IDAT_DATA), iend.clone()]),
            [&png::SIGNATURE[..4], &b"\r\n\x1a"[..], &ihdr(3, 2)].concat(),
        ];
        for (i, case) in cases.iter().enumerate() {
            assert_eq!(code(case), "corrupt_photo", "case {i}");
        }
        // A chunk length beyond 2^31 - 1.
        let mut huge = png_from(&[ihdr(3, 2)]);
        huge.extend_from_slice(&[0x80, 0, 0, 0]);
        huge.extend_from_slice(b"IDAT");
        assert_eq!(
            clean(&huge),
            Err(PhotoError::Corrupt("png: bad chunk length"))
        );
    }

    #[test]
    fn png_dimensions_are_limited_and_trailing_bytes_cut() {
        let big = png_from(&[
            ihdr(3, 20001),
            chunk(b"IDAT", IDAT_DATA),
            chunk(b"IEND", b""),
        ]);
        assert_eq!(clean(&big), Err(PhotoError::TooBig(3, 20001)));
        let mut padded = sample_png();
        padded.extend_from_slice(b"\0\0\0trailing");
        assert_eq!(clean(&padded), clean(&sample_png()));
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(png::crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(png::crc32(b""), 0);
        // The CRC of IEND is the same in every PNG.
        assert_eq!(chunk(b"IEND", b"")[8..], [0xAE, 0x42, 0x60, 0x82]);
    }

    // ---- other inputs ---------------------------------------------------------------

    #[test]
    fn other_files_are_rejected_by_content() {
        assert_eq!(clean(b""), Err(PhotoError::Empty));
        assert_eq!(code(b""), "empty_photo");
        let not_images: [&[u8]; 7] = [
            "这是一个改名为 .jpg 的文本文件".as_bytes(),
            b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04;",
            b"RIFF\x24\0\0\0WEBPVP8 ",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
            b"%PDF-1.7\n",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            &[0xFF],
        ];
        for input in not_images {
            assert_eq!(clean(input), Err(PhotoError::NotAnImage));
            assert_eq!(code(input), "not_an_image");
        }
    }

    #[test]
    fn size_limit_is_five_megabytes() {
        let mut at_limit = sample_jpeg();
        at_limit.resize(MAX_BYTES, 0);
        assert_eq!(clean(&at_limit), clean(&sample_jpeg()));
        let mut over = sample_jpeg();
        over.resize(MAX_BYTES + 1, 0);
        assert_eq!(clean(&over), Err(PhotoError::TooLarge));
        assert_eq!(code(&over), "photo_too_large");
        assert_eq!(code(&vec![b'a'; MAX_BYTES + 1]), "photo_too_large");
    }

    #[test]
    fn error_messages_and_codes() {
        assert_eq!(PhotoError::TooLarge.to_string(), "照片不能超过 5 MB");
        assert_eq!(
            PhotoError::NotAnImage.to_string(),
            "只接受 JPEG 或 PNG 照片"
        );
        assert!(
            PhotoError::Corrupt("x")
                .to_string()
                .starts_with("照片文件已损坏")
        );
        assert!(
            !PhotoError::Corrupt("png: CRC mismatch")
                .to_string()
                .contains("CRC")
        );
        assert!(PhotoError::TooBig(30000, 8).to_string().contains("30000×8"));
        let codes = [
            PhotoError::Empty,
            PhotoError::TooLarge,
            PhotoError::NotAnImage,
            PhotoError::Corrupt("x"),
            PhotoError::TooBig(1, 1),
        ]
        .map(|e| e.code());
        assert_eq!(
            codes,
            [
                "empty_photo",
                "photo_too_large",
                "not_an_image",
                "corrupt_photo",
                "photo_dimensions"
            ]
        );
    }

    #[test]
    fn debug_does_not_dump_the_bytes() {
        let photo = clean(&sample_png()).unwrap();
        let debug = format!("{photo:?}");
        assert!(debug.contains("image/png") && debug.contains("len"));
        assert!(!debug.contains("137, 80"));
    }

    // ---- properties -----------------------------------------------------------------

    /// Replace, insert or remove one byte; positions wrap around the input.
    fn mutate(mut bytes: Vec<u8>, edits: &[(u8, usize, u8)]) -> Vec<u8> {
        for &(kind, at, value) in edits {
            let at = at % (bytes.len() + 1);
            match kind % 3 {
                0 if at < bytes.len() => bytes[at] = value,
                1 => bytes.insert(at, value),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        bytes
    }

    /// When `clean` accepts something, its output is accepted unchanged and is no larger.
    fn check_output(input: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(photo) = clean(input) {
            prop_assert!(photo.bytes.len() <= input.len());
            let again = clean(&photo.bytes);
            prop_assert_eq!(again.as_ref(), Ok(&photo));
        }
        Ok(())
    }

    const SECRET: &[u8] = b"SECRET";

    /// Any chunk, mostly well-formed; metadata chunks carry `SECRET`.
    fn png_chunk_strategy() -> impl Strategy<Value = Vec<u8>> {
        let kinds = prop::sample::select(vec![
            *b"IDAT", *b"tEXt", *b"iTXt", *b"eXIf", *b"tIME", *b"prVt", *b"gAMA", *b"pHYs",
            *b"sRGB", *b"PLTE", *b"IEND", *b"IHDR",
        ]);
        (kinds, prop::collection::vec(0x80u8..=0xFF, 0..12)).prop_map(|(kind, data)| {
            let mut data = data;
            if !png::keeps(&kind) {
                data.extend_from_slice(SECRET);
            }
            chunk(&kind, &data)
        })
    }

    /// IHDR, chunks, IDAT, chunks, IEND: usually a valid PNG.
    fn png_strategy() -> impl Strategy<Value = Vec<u8>> {
        let some_chunks = || prop::collection::vec(png_chunk_strategy(), 0..4);
        (1u32..40, 1u32..40, some_chunks(), some_chunks()).prop_map(|(w, h, before, after)| {
            let mut all = vec![ihdr(w, h)];
            all.extend(before);
            all.push(chunk(b"IDAT", IDAT_DATA));
            all.extend(after);
            all.push(chunk(b"IEND", b""));
            png_from(&all)
        })
    }

    /// Any segment (or a scan, or EOI), mostly well-formed; metadata segments carry `SECRET`.
    fn jpeg_segment_strategy() -> impl Strategy<Value = Vec<u8>> {
        let markers = prop::sample::select(vec![
            0xE0u8, 0xE1, 0xE2, 0xED, 0xEE, 0xEF, 0xFE, 0xDB, 0xC4, 0xDD, 0xDA, 0xDA, 0xD0, 0xC0,
            0xD9,
        ]);
        let payload = prop::collection::vec(0x80u8..0xFF, 0..12);
        (markers, payload, 0u16..30, 0u16..30).prop_map(|(marker, payload, w, h)| match marker {
            0xC0 => sof0(w, h),
            0xD9 | 0xD0 => vec![0xFF, marker],
            0xE1..=0xEF | 0xFE => segment(marker, &[&payload[..], SECRET].concat()),
            0xDA => [segment(marker, &payload), payload.clone(), vec![0xFF, 0xD5]].concat(),
            _ => segment(marker, &payload),
        })
    }

    /// SOI, segments, SOF, segments, a scan, segments and scans, EOI: usually a valid JPEG.
    fn jpeg_strategy() -> impl Strategy<Value = Vec<u8>> {
        let some = || prop::collection::vec(jpeg_segment_strategy(), 0..4);
        let scan = prop::collection::vec(0u8..0xFF, 0..20);
        (1u16..40, 1u16..40, some(), some(), scan).prop_map(|(w, h, before, after, scan)| {
            let stuffed: Vec<u8> = scan
                .iter()
                .flat_map(|&b| if b == 0 { vec![0xFF, 0x00] } else { vec![b] })
                .collect();
            [
                vec![0xFF, 0xD8],
                before.concat(),
                sof0(w, h),
                segment(0xDA, &[1, 1, 0x00, 0, 0x3F, 0]),
                stuffed,
                after.concat(),
                vec![0xFF, 0xD9],
            ]
            .concat()
        })
    }

    /// Rewrites the data of one chunk of the sample PNG and gives it a correct CRC again.
    fn png_with_mutated_chunk(index: usize, edits: &[(u8, usize, u8)]) -> Vec<u8> {
        let mut chunks = [
            (*b"IHDR", ihdr(3, 2)[8..21].to_vec()),
            (*b"tEXt", b"GPS\x0039.9N".to_vec()),
            (*b"IDAT", IDAT_DATA.to_vec()),
            (*b"IEND", vec![]),
        ];
        let at = index % chunks.len();
        chunks[at].1 = mutate(chunks[at].1.clone(), edits);
        png_from(&chunks.iter().map(|(k, d)| chunk(k, d)).collect::<Vec<_>>())
    }

    fn edits() -> impl Strategy<Value = Vec<(u8, usize, u8)>> {
        prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4)
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(
            prefix in prop::sample::select(vec![vec![], vec![0xFF, 0xD8], png::SIGNATURE.to_vec()]),
            tail in prop::collection::vec(any::<u8>(), 0..400),
        ) {
            check_output(&[prefix, tail].concat())?;
        }

        #[test]
        fn never_panics_on_mutated_samples(png_sample in any::<bool>(), edits in edits()) {
            let sample = if png_sample { sample_png() } else { sample_jpeg() };
            check_output(&mutate(sample, &edits))?;
        }

        #[test]
        fn never_panics_on_png_chunks_with_mutated_data(index in any::<usize>(), edits in edits()) {
            check_output(&png_with_mutated_chunk(index, &edits))?;
        }

        #[test]
        fn generated_pngs_never_leak_metadata(input in png_strategy(), edits in edits()) {
            check_output(&input)?;
            if let Ok(photo) = clean(&input) {
                prop_assert!(!contains(&photo.bytes, SECRET));
            }
            check_output(&mutate(input, &edits))?;
        }

        #[test]
        fn generated_jpegs_never_leak_metadata(input in jpeg_strategy(), edits in edits()) {
            check_output(&input)?;
            if let Ok(photo) = clean(&input) {
                prop_assert!(!contains(&photo.bytes, SECRET));
            }
            check_output(&mutate(input, &edits))?;
        }
    }
}
