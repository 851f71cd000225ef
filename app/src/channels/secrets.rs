//! The instance's secret key, and what it protects: channel passwords at
//! rest and the ticket tokens in reply addresses.
//!
//! Passwords are sealed with ChaCha20-Poly1305 (a fresh random nonce per
//! seal, stored in front of the ciphertext), so a copied database or backup
//! does not give away mailbox credentials. Every instance of one install
//! must share the key (`AYUDA_SECRET_KEY`); a single instance keeps it in a
//! file beside its data.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// 32 random bytes. `Debug` never prints them.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the secret key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("a stored secret could not be opened (wrong AYUDA_SECRET_KEY?)")]
    CannotOpen,
}

impl SecretKey {
    pub fn generate() -> SecretKey {
        let key = ChaCha20Poly1305::generate_key(&mut OsRng);
        SecretKey(key.into())
    }

    /// From its base64 text (standard or URL-safe alphabet, padded or not).
    pub fn from_base64(text: &str) -> Result<SecretKey, SecretError> {
        let text = text.trim().trim_end_matches('=');
        let bytes = URL_SAFE_NO_PAD
            .decode(text.replace('+', "-").replace('/', "_"))
            .map_err(|_| SecretError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(SecretKey(key))
    }

    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Reads the key file, or creates it (readable by its owner only) with a
    /// new key.
    pub fn load_or_create(path: &std::path::Path) -> Result<SecretKey, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                SecretKey::from_base64(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                use std::io::Write;
                match options.open(path) {
                    Ok(mut f) => f
                        .write_all(key.to_base64().as_bytes())
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
                    // Another instance started at the same moment and
                    // wrote it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return SecretKey::load_or_create(path)
                    }
                    Err(e) => return Err(format!("cannot write {}: {e}", path.display())),
                }
                Ok(key)
            }
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Seals `plain`: base64 of nonce || ciphertext-with-tag.
    pub fn seal(&self, plain: &str) -> String {
        let cipher = ChaCha20Poly1305::new((&self.0).into());
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(&nonce, plain.as_bytes())
            .expect("ChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| SecretError::CannotOpen)?;
        if bytes.len() < 12 {
            return Err(SecretError::CannotOpen);
        }
        let (nonce, data) = bytes.split_at(12);
        let cipher = ChaCha20Poly1305::new((&self.0).into());
        let plain = cipher
            .decrypt(nonce.into(), data)
            .map_err(|_| SecretError::CannotOpen)?;
        String::from_utf8(plain).map_err(|_| SecretError::CannotOpen)
    }

    /// A short signature of `text` (HMAC-SHA256, 10 base64 characters, 60
    /// bits): enough that nobody guesses a ticket's reply token.
    pub fn sign(&self, text: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(b"ayuda-reply-token:");
        mac.update(text.as_bytes());
        let tag = mac.finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&tag[..8])[..10].to_lowercase()
    }

    /// Does `signature` sign `text`? Constant time.
    pub fn verify(&self, text: &str, signature: &str) -> bool {
        let expected = self.sign(text);
        expected.len() == signature.len()
            && expected
                .bytes()
                .zip(signature.to_lowercase().bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let key = SecretKey::generate();
        let sealed = key.seal("s3cret-pass");
        assert!(!sealed.contains("s3cret"));
        assert_ne!(sealed, key.seal("s3cret-pass"), "fresh nonce per seal");
        assert_eq!(key.open(&sealed).unwrap(), "s3cret-pass");
        assert_eq!(
            SecretKey::generate().open(&sealed),
            Err(SecretError::CannotOpen)
        );
        assert_eq!(key.open("garbage"), Err(SecretError::CannotOpen));
    }

    #[test]
    fn keys_round_trip_through_base64() {
        let key = SecretKey::generate();
        let again = SecretKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.open(&key.seal("x")).unwrap(), "x");
        assert!(SecretKey::from_base64("c2hvcnQ").is_err());
        assert!(format!("{key:?}").contains(".."));
    }

    #[test]
    fn signatures_verify_and_resist_tampering() {
        let key = SecretKey::generate();
        let sig = key.sign("1234");
        assert!(key.verify("1234", &sig));
        assert!(!key.verify("1235", &sig));
        assert!(!SecretKey::generate().verify("1234", &sig));
        assert!(!key.verify("1234", "short"));
    }
}
