//! Client-side encryption: Parquet modular encryption (AES-GCM, encrypted footer) with one
//! fresh data key per file, wrapped under a master key the caller holds.
//!
//! parquet encrypts and decrypts the pages, indexes and footer (its `encryption` feature). What
//! this module adds is what the Parquet key tools (parquet-java's `PropertiesDrivenCryptoFactory`,
//! pyarrow's `CryptoFactory`) put around it, so that either opens a file written here and this
//! crate opens theirs:
//!
//! - every file gets a random data key ([`DataKey`]) that encrypts all of its columns and its
//!   footer ("uniform encryption");
//! - the data key is wrapped under the master key with AES-GCM, the master key's id as AAD, and
//!   stored in the file as the footer's key metadata: a small JSON document, the key tools' key
//!   material (`PKMT1`, internal storage, single wrapping; [`key_material`]);
//! - a reader holds master keys by id ([`KeyRing`]); the key material says which one unwraps a
//!   file's data key. Files the key tools wrote with double wrapping (pyarrow's default) are
//!   read too.
//!
//! Key bytes are wiped when dropped and never printed: `Debug` shows a key's id only.

#[cfg(feature = "encryption")]
pub(crate) mod key_material;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use serde::{Deserialize, Serialize};

use crate::error::{DocumentRef, Error, Result};

/// How a file, or every data part of a snapshot, is encrypted, as summaries and manifests
/// record it: the algorithm and the master key's id, never a key.
///
/// ```
/// use akidb_snapshot_codec::EncryptionInfo;
///
/// let info = EncryptionInfo::aes_gcm("backups");
/// assert_eq!(serde_json::to_string(&info).unwrap(),
///     r#"{"algorithm":"AES_GCM_V1","key_id":"backups"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EncryptionInfo {
    /// Parquet's name of the algorithm: `AES_GCM_V1` (AES-GCM for pages and metadata alike).
    pub algorithm: String,
    /// The id of the master key the data keys are wrapped under.
    pub key_id: String,
}

impl EncryptionInfo {
    /// Parquet's AES-GCM encryption, under the master key `key_id`.
    pub fn aes_gcm(key_id: &str) -> Self {
        EncryptionInfo {
            algorithm: "AES_GCM_V1".to_owned(),
            key_id: key_id.to_owned(),
        }
    }
}

/// A master key: the key under which each file's data key is wrapped, and its id, which the
/// files record (never the key).
///
/// ```
/// use akidb_snapshot_codec::MasterKey;
///
/// let key = MasterKey::from_hex("backup-2026", "00112233445566778899aabbccddeeff").unwrap();
/// assert_eq!(key.id(), "backup-2026");
/// assert_eq!(key.bits(), 128);
/// // A key is never printed.
/// assert!(!format!("{key:?}").contains("0011"));
/// assert!(MasterKey::from_hex("k", "0011").is_err());
/// ```
#[derive(Clone)]
pub struct MasterKey {
    id: Arc<str>,
    key: Zeroizing<Vec<u8>>,
}

impl MasterKey {
    /// The longest key id accepted, in bytes.
    pub const MAX_ID_BYTES: usize = 256;

    /// A master key of 16, 24 or 32 bytes (AES-128, -192 or -256) named `id`: printable, not
    /// empty, at most [`MAX_ID_BYTES`](Self::MAX_ID_BYTES).
    pub fn new(id: &str, key: &[u8]) -> Result<Self> {
        check_id(id)?;
        if ![16, 24, 32].contains(&key.len()) {
            return Err(refuse(format!(
                "master key `{id}` is {} bytes; a master key is 16, 24 or 32 bytes (AES-128, \
                 -192 or -256)",
                key.len()
            )));
        }
        Ok(MasterKey {
            id: id.into(),
            key: Zeroizing::new(key.to_vec()),
        })
    }

    /// A master key written as 32, 48 or 64 hexadecimal digits (surrounding whitespace, such as
    /// the newline at the end of a key file, is ignored).
    pub fn from_hex(id: &str, hex: &str) -> Result<Self> {
        let hex = hex.trim();
        let digits = hex.as_bytes();
        if ![32, 48, 64].contains(&digits.len()) {
            // The length only: a key that is wrong is still a key.
            return Err(refuse(format!(
                "master key `{id}` is {} characters; write it as 32, 48 or 64 hexadecimal \
                 digits (a 128-, 192- or 256-bit key), for example from `openssl rand -hex 32`",
                digits.len()
            )));
        }
        let key = Zeroizing::new(
            digits
                .chunks(2)
                .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| {
                    refuse(format!(
                        "master key `{id}` holds a character that is not a hexadecimal digit"
                    ))
                })?,
        );
        Self::new(id, &key)
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key's length in bits: 128, 192 or 256.
    pub fn bits(&self) -> usize {
        self.key.len() * 8
    }

    #[cfg(feature = "encryption")]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

impl PartialEq for MasterKey {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.key == other.key
    }
}

impl Eq for MasterKey {}

fn hex_digit(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MasterKey::MAX_ID_BYTES || id.chars().any(char::is_control) {
        return Err(refuse(format!(
            "a master key id is 1 to {} printable bytes, not {id:?}",
            MasterKey::MAX_ID_BYTES
        )));
    }
    Ok(())
}

fn refuse(reason: String) -> Error {
    Error::validation(DocumentRef::NONE, reason)
}

/// The master keys a reader holds, by id: a file names the one its data key is wrapped under.
/// Empty by default, which opens every file that is not encrypted.
///
/// ```
/// use akidb_snapshot_codec::{KeyRing, MasterKey};
///
/// let ring = KeyRing::default()
///     .with(MasterKey::from_hex("old", &"11".repeat(16)).unwrap())
///     .with(MasterKey::from_hex("new", &"22".repeat(32)).unwrap());
/// assert_eq!(ring.get("new").unwrap().bits(), 256);
/// assert!(ring.get("other").is_none());
/// assert_eq!(ring.ids().collect::<Vec<_>>(), ["new", "old"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRing {
    keys: BTreeMap<Arc<str>, MasterKey>,
}

impl KeyRing {
    /// The ring with `key` added (replacing a key of the same id).
    pub fn with(mut self, key: MasterKey) -> Self {
        self.insert(key);
        self
    }

    /// Adds `key`, replacing a key of the same id.
    pub fn insert(&mut self, key: MasterKey) {
        self.keys.insert(Arc::clone(&key.id), key);
    }

    /// The key named `id`.
    pub fn get(&self, id: &str) -> Option<&MasterKey> {
        self.keys.get(id)
    }

    /// The keys held, in the order of their ids.
    pub fn iter(&self) -> impl Iterator<Item = &MasterKey> {
        self.keys.values()
    }

    /// The ids of the keys held, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(|id| &**id)
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl From<MasterKey> for KeyRing {
    fn from(key: MasterKey) -> Self {
        KeyRing::default().with(key)
    }
}
