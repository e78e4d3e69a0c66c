//! Where the database is, where to listen, and the data-encryption key.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::PathBuf;

pub const DEFAULT_DB: &str = "sqlite://shequ.db?mode=rwc";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// A 256-bit key; `Debug` never shows it.
pub struct SecretKey(pub [u8; 32]);

impl SecretKey {
    /// The field protector built from this key.
    pub fn protector(&self) -> shequ_core::Protector {
        shequ_core::Protector::new(&self.0)
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// The SQLite file a URL names, if it names one.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// The data-encryption key: `SHEQU_SECRET_KEY` (64 hex characters), or for SQLite a
/// key file beside the database, created with mode 0600 on first use.
pub fn secret_key(db_url: &str) -> Result<SecretKey> {
    if let Ok(hexkey) = std::env::var("SHEQU_SECRET_KEY") {
        return parse_key(hexkey.trim()).context("SHEQU_SECRET_KEY 应为 64 位十六进制字符");
    }
    let Some(db) = sqlite_path(db_url) else {
        bail!("使用 PostgreSQL 时必须设置 SHEQU_SECRET_KEY（64 位十六进制字符）");
    };
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".key");
    let path = db.with_file_name(name);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("无法读取密钥文件 {}", path.display()))?;
        return parse_key(text.trim())
            .with_context(|| format!("密钥文件 {} 内容有误", path.display()));
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("无法生成随机密钥：{e}"))?;
    write_private(&path, &hex::encode(key))?;
    tracing::info!(path = %path.display(), "created data-encryption key file");
    Ok(SecretKey(key))
}

fn parse_key(s: &str) -> Result<SecretKey> {
    let bytes = hex::decode(s)?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("密钥长度应为 32 字节"))?;
    Ok(SecretKey(key))
}

fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("无法创建密钥文件 {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// A random token for integration keys: 32 bytes, hex.
pub fn random_token() -> Result<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("无法生成随机数：{e}"))?;
    Ok(format!("sq_{}", hex::encode(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://shequ.db?mode=rwc"),
            Some(PathBuf::from("shequ.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/a.db"),
            Some(PathBuf::from("/tmp/a.db"))
        );
        assert_eq!(sqlite_path("postgres://x"), None);
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn key_file_is_created_once_and_private() {
        let dir = std::env::temp_dir().join(format!("shequ-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/x.db", dir.display());
        // SAFETY of the environment: this test does not set SHEQU_SECRET_KEY.
        let a = secret_key(&url).unwrap();
        let b = secret_key(&url).unwrap();
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("x.db.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(format!("{a:?}"), "SecretKey(***)");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
