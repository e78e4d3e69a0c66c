//! Field-level protection of personal data at rest.
//!
//! A [`Protector`] derives two sub-keys from one 32-byte master key:
//! - an AES-256-GCM key that seals a field's value, with the field name as associated
//!   data so that a blob cannot be moved to another field;
//! - an HMAC-SHA256 key for blind indexes, which let an exact-match lookup (e.g. by ID
//!   number) run without decrypting.
//!
//! Nonces are passed in so that this crate needs no randomness; never reuse one.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce, Tag};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The version byte that starts every sealed blob.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// HMAC-SHA256 works on 64-byte key blocks.
const HMAC_BLOCK: usize = 64;

/// Why a sealed blob could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("密文长度不足，数据可能已损坏")]
    Truncated,
    #[error("密文版本不受支持")]
    UnknownVersion,
    #[error("密文校验失败：密钥或字段不匹配，或数据已被篡改")]
    AuthenticationFailed,
    #[error("解密结果不是有效的 UTF-8 文本")]
    NotUtf8,
}

impl CryptoError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CryptoError::Truncated => "crypto_truncated",
            CryptoError::UnknownVersion => "crypto_unknown_version",
            CryptoError::AuthenticationFailed => "crypto_authentication_failed",
            CryptoError::NotUtf8 => "crypto_not_utf8",
        }
    }
}

/// Seals and opens protected fields and computes blind indexes.
#[derive(Clone)]
pub struct Protector {
    enc_key: [u8; 32],
    mac_key: [u8; 32],
}

impl fmt::Debug for Protector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protector(***)")
    }
}

impl Protector {
    /// Derive the encryption and MAC sub-keys from the master key.
    pub fn new(master: &[u8; 32]) -> Protector {
        Protector {
            enc_key: hmac_sha256(master, &[b"shequ/enc/v1"]),
            mac_key: hmac_sha256(master, &[b"shequ/mac/v1"]),
        }
    }

    /// Encrypt `plain` for `field`: `[version 1] ++ nonce ++ ciphertext ++ tag`.
    /// (A plaintext beyond AES-GCM's 64 GiB limit yields a blob that never opens.)
    pub fn seal(&self, field: &str, plain: &[u8], nonce: [u8; 12]) -> Vec<u8> {
        let mut body = plain.to_vec();
        let tag = self.cipher().encrypt_in_place_detached(
            &Nonce::from(nonce),
            field.as_bytes(),
            &mut body,
        );
        let mut blob = Vec::with_capacity(1 + NONCE_LEN + body.len() + TAG_LEN);
        blob.push(VERSION);
        blob.extend_from_slice(&nonce);
        if let Ok(tag) = tag {
            blob.extend_from_slice(&body);
            blob.extend_from_slice(&tag);
        }
        blob
    }

    /// Decrypt a blob sealed for `field` by a protector with the same master key.
    pub fn open(&self, field: &str, blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (version, rest) = blob.split_first().ok_or(CryptoError::Truncated)?;
        if *version != VERSION {
            return Err(CryptoError::UnknownVersion);
        }
        let (nonce, rest) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(CryptoError::Truncated)?;
        let (body, tag) = rest
            .split_last_chunk::<TAG_LEN>()
            .ok_or(CryptoError::Truncated)?;
        let mut plain = body.to_vec();
        self.cipher()
            .decrypt_in_place_detached(
                &Nonce::from(*nonce),
                field.as_bytes(),
                &mut plain,
                &Tag::from(*tag),
            )
            .map_err(|_| CryptoError::AuthenticationFailed)?;
        Ok(plain)
    }

    /// [`Protector::open`] for a text field.
    pub fn open_string(&self, field: &str, blob: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.open(field, blob)?).map_err(|_| CryptoError::NotUtf8)
    }

    /// Blind index: lowercase hex (64 chars) of HMAC-SHA256(mac key, field ++ "\0" ++ value).
    /// Equal values of one field give equal indexes; nothing else can be learnt from it.
    pub fn blind(&self, field: &str, value: &str) -> String {
        hex::encode(hmac_sha256(
            &self.mac_key,
            &[field.as_bytes(), b"\0", value.as_bytes()],
        ))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.enc_key))
    }
}

/// HMAC-SHA256 over the concatenation of `parts`. A key shorter than the 64-byte block is
/// zero-padded to the block by HMAC's definition (RFC 2104), which lets the key be built
/// without a fallible length check.
fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; HMAC_BLOCK];
    for (slot, byte) in block.iter_mut().zip(key) {
        *slot = *byte;
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MASTER: [u8; 32] = [0x42; 32];
    const NONCE: [u8; 12] = [9; 12];

    fn protector() -> Protector {
        Protector::new(&MASTER)
    }

    #[test]
    fn hmac_matches_the_slice_keyed_reference() {
        let key = [0x0b; 32];
        let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        reference.update(b"Hi There");
        let expected: [u8; 32] = reference.finalize().into_bytes().into();
        assert_eq!(hmac_sha256(&key, &[b"Hi ", b"There"]), expected);
    }

    #[test]
    fn round_trip() {
        let p = protector();
        let blob = p.seal("id_card", "11010519491231002X".as_bytes(), NONCE);
        assert_eq!(blob.len(), 1 + 12 + 18 + 16);
        assert_eq!(blob.first(), Some(&1));
        assert_eq!(blob.get(1..13), Some(&NONCE[..]));
        assert_eq!(
            p.open_string("id_card", &blob).unwrap(),
            "11010519491231002X"
        );
        assert_eq!(p.open("empty", &p.seal("empty", b"", NONCE)).unwrap(), b"");
    }

    #[test]
    fn wrong_field_key_or_tampering_fails() {
        let p = protector();
        let blob = p.seal("id_card", b"secret", NONCE);
        let auth = Err(CryptoError::AuthenticationFailed);
        assert_eq!(p.open("phone", &blob), auth);
        assert_eq!(Protector::new(&[0x43; 32]).open("id_card", &blob), auth);
        for i in 1..blob.len() {
            let mut bad = blob.clone();
            if let Some(b) = bad.get_mut(i) {
                *b ^= 0x01;
            }
            assert_eq!(p.open("id_card", &bad), auth, "byte {i}");
        }
        let mut other_version = blob.clone();
        other_version[0] = 2;
        assert_eq!(
            p.open("id_card", &other_version),
            Err(CryptoError::UnknownVersion)
        );
        assert_eq!(p.open("id_card", &[]), Err(CryptoError::Truncated));
        assert_eq!(
            p.open("id_card", &blob[..1 + 12 + 15]),
            Err(CryptoError::Truncated)
        );
        assert_eq!(
            p.open("id_card", &blob[..blob.len() - 1]),
            auth,
            "a shortened body fails authentication"
        );
    }

    #[test]
    fn open_string_rejects_non_utf8() {
        let p = protector();
        let blob = p.seal("f", &[0xff, 0xfe], NONCE);
        assert_eq!(p.open_string("f", &blob), Err(CryptoError::NotUtf8));
    }

    #[test]
    fn blind_index() {
        let p = protector();
        let a = p.blind("id_card", "11010519491231002X");
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(a, protector().blind("id_card", "11010519491231002X"));
        assert_ne!(a, p.blind("phone", "11010519491231002X"));
        assert_ne!(a, p.blind("id_card", "34052419800101001X"));
        assert_ne!(
            a,
            Protector::new(&[1; 32]).blind("id_card", "11010519491231002X")
        );
        // The separator keeps field and value apart.
        assert_ne!(p.blind("ab", "c"), p.blind("a", "bc"));
    }

    #[test]
    fn debug_hides_keys() {
        assert_eq!(format!("{:?}", protector()), "Protector(***)");
    }

    #[test]
    fn sub_keys_differ_from_each_other_and_the_master() {
        let p = protector();
        assert_ne!(p.enc_key, p.mac_key);
        assert_ne!(p.enc_key, MASTER);
    }

    proptest! {
        #[test]
        fn open_inverts_seal(plain in proptest::collection::vec(any::<u8>(), 0..256),
                             field in "[a-z_]{1,16}", nonce in any::<[u8; 12]>()) {
            let p = protector();
            prop_assert_eq!(p.open(&field, &p.seal(&field, &plain, nonce)).unwrap(), plain);
        }

        #[test]
        fn open_never_panics(blob in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = protector().open("f", &blob);
            let _ = protector().open_string("f", &blob);
        }
    }
}
