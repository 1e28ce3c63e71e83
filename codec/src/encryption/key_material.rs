//! The Parquet key tools' key material (`PKMT1`): how a file's data key is stored in the file,
//! wrapped under a master key, and how it is unwrapped again.
//!
//! The layout is parquet-java's `KeyMaterial` (pyarrow's `KeyMaterial` reads and writes the
//! same): a JSON object stored as the footer's key metadata ("internal storage"). A key is
//! wrapped the way the key tools wrap one locally: AES-GCM under the wrapping key with a fresh
//! 12-byte nonce, stored as base64 of nonce ‖ ciphertext ‖ 16-byte tag. With single wrapping the
//! data key is wrapped under the master key, with the master key's id as AAD. With double
//! wrapping (pyarrow's default) a key-encryption key is wrapped that way, and the data key is
//! wrapped under it with the key-encryption key's id (decoded from base64) as AAD.

use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use parquet::encryption::decrypt::{FileDecryptionProperties, KeyRetriever};
use parquet::encryption::encrypt::FileEncryptionProperties;
use parquet::errors::ParquetError;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{KeyRing, MasterKey};
use crate::error::{Error, Result};

type Aes192Gcm = AesGcm<aes_gcm::aes::Aes192, aes_gcm::aead::consts::U12>;

const KEY_MATERIAL_TYPE: &str = "PKMT1";
/// What parquet-java writes for a KMS it was given no instance of.
const DEFAULT_KMS_INSTANCE: &str = "DEFAULT";
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// The key material of one key, as the key tools write it. Field order is theirs.
#[derive(Debug, Serialize, Deserialize)]
struct KeyMaterial {
    #[serde(rename = "keyMaterialType")]
    key_material_type: String,
    #[serde(rename = "internalStorage")]
    internal_storage: bool,
    #[serde(rename = "isFooterKey")]
    is_footer_key: bool,
    #[serde(
        rename = "kmsInstanceID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    kms_instance_id: Option<String>,
    #[serde(
        rename = "kmsInstanceURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    kms_instance_url: Option<String>,
    #[serde(rename = "masterKeyID")]
    master_key_id: String,
    #[serde(rename = "wrappedDEK")]
    wrapped_dek: String,
    #[serde(rename = "doubleWrapping")]
    double_wrapping: bool,
    #[serde(
        rename = "keyEncryptionKeyID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    kek_id: Option<String>,
    #[serde(
        rename = "wrappedKEK",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    wrapped_kek: Option<String>,
}

/// The fields every key material has, read first: key material stored outside the file has
/// none of the others.
#[derive(Deserialize)]
struct Kind {
    #[serde(rename = "keyMaterialType")]
    key_material_type: String,
    #[serde(rename = "internalStorage")]
    internal_storage: bool,
}

/// The encryption of a new file under `master`: a fresh data key (128 bits under a 128-bit
/// master key, else 256) for the footer and every column, stored wrapped in the footer's key
/// metadata.
pub(crate) fn file_encryption(master: &MasterKey) -> Result<Arc<FileEncryptionProperties>> {
    let mut data_key = Zeroizing::new(vec![0; if master.bits() == 128 { 16 } else { 32 }]);
    random(&mut data_key)?;
    let material = KeyMaterial {
        key_material_type: KEY_MATERIAL_TYPE.to_owned(),
        internal_storage: true,
        is_footer_key: true,
        kms_instance_id: Some(DEFAULT_KMS_INSTANCE.to_owned()),
        kms_instance_url: Some(DEFAULT_KMS_INSTANCE.to_owned()),
        master_key_id: master.id().to_owned(),
        wrapped_dek: wrap(&data_key, master.bytes(), master.id().as_bytes())?,
        double_wrapping: false,
        kek_id: None,
        wrapped_kek: None,
    };
    let metadata = serde_json::to_vec(&material)
        .map_err(|e| Error::encoding("writing the key material failed", e))?;
    FileEncryptionProperties::builder(data_key.to_vec())
        .with_footer_key_metadata(metadata)
        .build()
        .map_err(|e| Error::encoding("setting up the file's encryption failed", e))
}

/// Decryption that finds each key's master key in `ring`. What the keys asked for were, or
/// what went wrong with one, is kept in the returned [`KeyUse`]: parquet turns the error into
/// one of its own.
pub(crate) fn file_decryption(
    ring: &KeyRing,
) -> Result<(Arc<FileDecryptionProperties>, Arc<KeyUse>)> {
    let used = Arc::new(KeyUse::default());
    let retriever = Unwrapper {
        ring: ring.clone(),
        used: Arc::clone(&used),
    };
    let properties = FileDecryptionProperties::with_key_retriever(Arc::new(retriever))
        .build()
        .map_err(|e| Error::encoding("setting up decryption failed", e))?;
    Ok((properties, used))
}

/// What the keys a file asked for were: the master key of its footer key, or the first key
/// that could not be had.
#[derive(Debug, Default)]
pub(crate) struct KeyUse(Mutex<(Option<String>, Option<Error>)>);

impl KeyUse {
    /// The id of the master key the footer's key was unwrapped with.
    pub(crate) fn footer_key_id(&self) -> Option<String> {
        self.0.lock().ok()?.0.clone()
    }

    /// The error, if a key could not be had.
    pub(crate) fn problem(&self) -> Option<Error> {
        self.0.lock().ok()?.1.take()
    }

    fn record(
        &self,
        result: Result<(Zeroizing<Vec<u8>>, KeyMaterial)>,
    ) -> parquet::errors::Result<Vec<u8>> {
        let mut used = self
            .0
            .lock()
            .map_err(|_| ParquetError::General("a key lock was poisoned".into()))?;
        match result {
            Ok((key, material)) => {
                if material.is_footer_key {
                    used.0 = Some(material.master_key_id);
                }
                Ok(key.to_vec())
            }
            Err(error) => {
                let message = ParquetError::General(error.to_string());
                used.1.get_or_insert(error);
                Err(message)
            }
        }
    }
}

struct Unwrapper {
    ring: KeyRing,
    used: Arc<KeyUse>,
}

impl KeyRetriever for Unwrapper {
    fn retrieve_key(&self, key_metadata: &[u8]) -> parquet::errors::Result<Vec<u8>> {
        self.used.record(data_key(&self.ring, key_metadata))
    }
}

/// The data key that `key_metadata` holds wrapped, unwrapped with a master key of `ring`, and
/// the key material it came in.
fn data_key(ring: &KeyRing, key_metadata: &[u8]) -> Result<(Zeroizing<Vec<u8>>, KeyMaterial)> {
    let unreadable = |why: String| Error::decoding(format!("the file's key metadata {why}"));
    let kind: Kind = serde_json::from_slice(key_metadata).map_err(|e| {
        unreadable(format!(
            "is not key material of the Parquet key tools ({e})"
        ))
    })?;
    if kind.key_material_type != KEY_MATERIAL_TYPE {
        return Err(unreadable(format!(
            "is key material of type {:?}; this reader knows {KEY_MATERIAL_TYPE}",
            kind.key_material_type
        )));
    }
    if !kind.internal_storage {
        return Err(unreadable(
            "says its key material is stored outside the file (external key material), which \
             this reader does not read; write the file with internal key material"
                .to_owned(),
        ));
    }
    let material: KeyMaterial = serde_json::from_slice(key_metadata)
        .map_err(|e| unreadable(format!("is incomplete ({e})")))?;
    let id = material.master_key_id.as_str();
    let master = ring.get(id).ok_or_else(|| Error::EncryptionKey {
        key_id: id.to_owned(),
        given: false,
    })?;
    let wrong = || Error::EncryptionKey {
        key_id: id.to_owned(),
        given: true,
    };
    let key = if material.double_wrapping {
        double_unwrap(&material, master)?.ok_or_else(wrong)?
    } else {
        unwrap(&material.wrapped_dek, master.bytes(), id.as_bytes()).ok_or_else(wrong)?
    };
    Ok((key, material))
}

/// The data key of double-wrapped `material`, if its key-encryption key opens under `master`.
fn double_unwrap(material: &KeyMaterial, master: &MasterKey) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let unreadable = |why: &str| Error::decoding(format!("the file's key metadata {why}"));
    let id = material.master_key_id.as_str();
    let (Some(kek_id), Some(wrapped_kek)) = (&material.kek_id, &material.wrapped_kek) else {
        return Err(unreadable(
            "says it is double wrapped but has no key-encryption key",
        ));
    };
    let Some(kek) = unwrap(wrapped_kek, master.bytes(), id.as_bytes()) else {
        return Ok(None);
    };
    let kek_aad = BASE64
        .decode(kek_id)
        .map_err(|_| unreadable("has a key-encryption key id that is not base64"))?;
    unwrap(&material.wrapped_dek, &kek, &kek_aad)
        .map(Some)
        .ok_or_else(|| {
            Error::corruption("the file's data key does not unwrap under its key-encryption key")
        })
}

/// `key` wrapped under `under` with `aad`: base64 of nonce ‖ ciphertext ‖ tag.
fn wrap(key: &[u8], under: &[u8], aad: &[u8]) -> Result<String> {
    let mut nonce = [0; NONCE_BYTES];
    random(&mut nonce)?;
    let payload = Payload { msg: key, aad };
    let sealed = match under.len() {
        16 => seal::<Aes128Gcm>(under, &nonce, payload),
        24 => seal::<Aes192Gcm>(under, &nonce, payload),
        _ => seal::<Aes256Gcm>(under, &nonce, payload),
    }
    .ok_or_else(|| Error::encoding("wrapping the data key failed", "AES-GCM refused the key"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(BASE64.encode(out))
}

/// The key `wrapped` holds, if it opens under `under` with `aad`.
fn unwrap(wrapped: &str, under: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let raw = BASE64.decode(wrapped.trim()).ok()?;
    if raw.len() < NONCE_BYTES + TAG_BYTES {
        return None;
    }
    let (nonce, sealed) = raw.split_at(NONCE_BYTES);
    let payload = Payload { msg: sealed, aad };
    match under.len() {
        16 => open::<Aes128Gcm>(under, nonce, payload),
        24 => open::<Aes192Gcm>(under, nonce, payload),
        32 => open::<Aes256Gcm>(under, nonce, payload),
        _ => None,
    }
    .map(Zeroizing::new)
}

fn seal<C: KeyInit + Aead>(key: &[u8], nonce: &[u8], payload: Payload<'_, '_>) -> Option<Vec<u8>> {
    C::new_from_slice(key)
        .ok()?
        .encrypt(nonce.into(), payload)
        .ok()
}

fn open<C: KeyInit + Aead>(key: &[u8], nonce: &[u8], payload: Payload<'_, '_>) -> Option<Vec<u8>> {
    C::new_from_slice(key)
        .ok()?
        .decrypt(nonce.into(), payload)
        .ok()
}

fn random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| {
        Error::encoding(
            "the operating system gave no random bytes for a key",
            e.to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(id: &str, bytes: usize) -> MasterKey {
        MasterKey::new(id, &vec![7; bytes]).unwrap()
    }

    #[test]
    fn keys_of_every_size_wrap_and_unwrap_with_their_id_as_aad() {
        for bytes in [16, 24, 32] {
            let key = master("k", bytes);
            let wrapped = wrap(b"a data key of 16", key.bytes(), b"k").unwrap();
            let raw = BASE64.decode(&wrapped).unwrap();
            assert_eq!(raw.len(), NONCE_BYTES + 16 + TAG_BYTES);
            let back = unwrap(&wrapped, key.bytes(), b"k").unwrap();
            assert_eq!(&back[..], b"a data key of 16");
            assert!(unwrap(&wrapped, key.bytes(), b"other id").is_none());
            assert!(unwrap(&wrapped, &vec![8; bytes], b"k").is_none());
        }
    }

    #[test]
    fn the_key_material_names_the_master_key_and_unwraps_with_it_only() {
        let key = master("backup", 32);
        let properties = file_encryption(&key).unwrap();
        let metadata = properties.footer_key_metadata().unwrap();
        let json: serde_json::Value = serde_json::from_slice(metadata).unwrap();
        assert_eq!(json["keyMaterialType"], "PKMT1");
        assert_eq!(json["internalStorage"], true);
        assert_eq!(json["isFooterKey"], true);
        assert_eq!(json["masterKeyID"], "backup");
        assert_eq!(json["doubleWrapping"], false);
        let (dek, _) = data_key(&KeyRing::from(key.clone()), metadata).unwrap();
        assert_eq!(&dek[..], &properties.footer_key()[..]);
        assert_eq!(dek.len(), 32);

        let missing = data_key(&KeyRing::from(master("other", 32)), metadata).unwrap_err();
        assert!(
            matches!(&missing, Error::EncryptionKey { key_id, given: false } if key_id == "backup")
        );
        let wrong = data_key(&KeyRing::from(master("backup", 16)), metadata).unwrap_err();
        assert!(matches!(&wrong, Error::EncryptionKey { given: true, .. }));
        assert!(!wrong.to_string().contains("0707"), "{wrong}");
    }

    #[test]
    fn double_wrapped_keys_unwrap_through_their_key_encryption_key() {
        let key = master("m", 16);
        let kek = [3u8; 16];
        let kek_id = BASE64.encode([9u8; 16]);
        let material = KeyMaterial {
            key_material_type: KEY_MATERIAL_TYPE.to_owned(),
            internal_storage: true,
            is_footer_key: true,
            kms_instance_id: None,
            kms_instance_url: None,
            master_key_id: "m".to_owned(),
            wrapped_dek: wrap(&[5; 16], &kek, &[9; 16]).unwrap(),
            double_wrapping: true,
            kek_id: Some(kek_id),
            wrapped_kek: Some(wrap(&kek, key.bytes(), b"m").unwrap()),
        };
        let metadata = serde_json::to_vec(&material).unwrap();
        assert_eq!(&data_key(&key.into(), &metadata).unwrap().0[..], &[5; 16]);
    }

    #[test]
    fn key_metadata_of_other_kinds_is_refused_with_the_reason() {
        let ring = KeyRing::from(master("m", 16));
        for (metadata, says) in [
            (&b"kf"[..], "not key material"),
            (
                br#"{"keyMaterialType":"PKMT9","internalStorage":true}"#,
                "PKMT9",
            ),
            (
                br#"{"keyMaterialType":"PKMT1","internalStorage":false,"keyReference":"x"}"#,
                "outside the file",
            ),
            (
                br#"{"keyMaterialType":"PKMT1","internalStorage":true}"#,
                "incomplete",
            ),
        ] {
            let err = data_key(&ring, metadata).unwrap_err();
            assert!(err.to_string().contains(says), "{err}");
        }
    }
}
