//! Password policy and hashing (Argon2id with the argon2 crate's default parameters:
//! 19 MiB, 2 passes, 1 lane), stored as PHC strings.
//!
//! The salt is passed in so that this crate needs no randomness.

use crate::validation::FieldErrors;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};

const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 128;
/// A stored hash asking for more memory (KiB) or passes than this is refused rather than
/// computed, so that a corrupted row cannot exhaust the server.
const MAX_MEMORY_KIB: u32 = 256 * 1024;
const MAX_PASSES: u32 = 16;

/// A fixed Argon2id hash (default parameters) of a random password nobody knows.
/// Verifying against it costs as much as verifying a real user's password.
/// Generated once during development by `hash_password` from 24 random bytes (base64)
/// and a random salt, both read from /dev/urandom and then discarded.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$qq7X+pY5xjKOr6F5HXKbvw$Nyb9+qnX0Z1bhrjn6SIDV4IjgDR/cL0QsS2kyTXXx1M";

/// Why a password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("密码哈希计算失败")]
    HashFailed,
}

impl PasswordError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordError::HashFailed => "password_hash_failed",
        }
    }
}

/// Check a new password against the policy; every failing rule is reported on the
/// field `password`.
pub fn check_policy(username: &str, password: &str) -> Result<(), FieldErrors> {
    let mut errs = FieldErrors::new();
    let len = password.chars().count();
    if len < MIN_CHARS {
        errs.add("password", "password_too_short", "密码至少需要 8 个字符");
    } else if len > MAX_CHARS {
        errs.add("password", "password_too_long", "密码不能超过 128 个字符");
    }
    if character_classes(password) < 3 {
        errs.add(
            "password",
            "password_too_simple",
            "密码需包含大写字母、小写字母、数字和其他符号中的至少三类",
        );
    }
    if contains_username(username, password) {
        errs.add(
            "password",
            "password_contains_username",
            "密码不能包含用户名",
        );
    }
    errs.into_result()
}

/// How many of upper case, lower case, digits and other characters appear.
fn character_classes(password: &str) -> usize {
    let has = |f: fn(char) -> bool| password.chars().any(f);
    [
        has(|c| c.is_uppercase()),
        has(|c| c.is_lowercase()),
        has(|c| c.is_ascii_digit()),
        has(|c| !c.is_uppercase() && !c.is_lowercase() && !c.is_ascii_digit()),
    ]
    .into_iter()
    .filter(|present| *present)
    .count()
}

/// Case-insensitive containment, checked only for usernames of three characters or more.
fn contains_username(username: &str, password: &str) -> bool {
    let username = username.trim().to_lowercase();
    username.chars().count() >= 3 && password.to_lowercase().contains(&username)
}

/// Hash with Argon2id (default parameters) and return the PHC string.
pub fn hash_password(password: &str, salt: &[u8; 16]) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(salt).map_err(|_| PasswordError::HashFailed)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordError::HashFailed)
}

/// Whether `password` matches the PHC string; `false` for a malformed or oversized hash.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let affordable = Params::try_from(&hash)
        .is_ok_and(|p| p.m_cost() <= MAX_MEMORY_KIB && p.t_cost() <= MAX_PASSES);
    affordable
        && Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
}

/// A valid hash to verify against when the user does not exist, so that the response
/// takes as long as for a wrong password.
pub fn dummy_hash() -> &'static str {
    DUMMY_HASH
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(username: &str, password: &str) -> Vec<&'static str> {
        match check_policy(username, password) {
            Ok(()) => vec![],
            Err(e) => e.0.iter().map(|f| f.code).collect(),
        }
    }

    #[test]
    fn policy() {
        assert!(codes("zhangsan", "Shequ#2025").is_empty());
        assert!(codes("zhangsan", "社区服务Ab12").is_empty());
        assert_eq!(codes("zhangsan", "Ab1!"), ["password_too_short"]);
        assert_eq!(
            codes("zhangsan", "abc"),
            ["password_too_short", "password_too_simple"]
        );
        assert_eq!(codes("zhangsan", "abcdefgh12"), ["password_too_simple"]);
        assert_eq!(codes("zhangsan", &"Ab1!".repeat(33)), ["password_too_long"]);
        assert_eq!(
            codes("ZhangSan", "xxZHANGSAN1!"),
            ["password_contains_username"]
        );
        assert!(codes("li", "li-Passw0rd").is_empty());
        let errs = check_policy("u", "short").unwrap_err();
        assert!(errs.0.iter().all(|e| e.field == "password"));
    }

    #[test]
    fn hash_and_verify() {
        let phc = hash_password("Shequ#2025", &[7u8; 16]).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("Shequ#2025", &phc));
        assert!(!verify_password("shequ#2025", &phc));
        assert!(!verify_password("Shequ#2025", "not a hash"));
        assert!(!verify_password("Shequ#2025", ""));
        let other_salt = hash_password("Shequ#2025", &[8u8; 16]).unwrap();
        assert_ne!(phc, other_salt);
    }

    #[test]
    fn oversized_hash_is_refused() {
        let phc = hash_password("Shequ#2025", &[7u8; 16]).unwrap();
        let greedy = phc.replace("m=19456", "m=4194304");
        assert!(!verify_password("Shequ#2025", &greedy));
    }

    #[test]
    fn dummy_hash_is_a_default_argon2id_hash() {
        let dummy = PasswordHash::new(dummy_hash()).unwrap();
        let real_phc = hash_password("Shequ#2025", &[7u8; 16]).unwrap();
        let real = PasswordHash::new(&real_phc).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.params, real.params);
        assert!(!verify_password("", dummy_hash()));
        assert!(!verify_password("Shequ#2025", dummy_hash()));
    }
}
