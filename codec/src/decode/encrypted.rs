//! The checks of an encrypted file (Parquet modular encryption) before parquet reads it.
//!
//! In an encrypted file every page header, page, page index and the footer is an AES-GCM
//! module: a 4-byte little-endian length, then a 12-byte nonce, the ciphertext and a 16-byte
//! tag. parquet authenticates each module before it parses what is inside, with an AAD that
//! names the file, the module's kind and its row group, column and page ordinals, so a module
//! cannot be altered, moved or swapped without the key. So the Thrift walks of a plain file
//! (`file_metadata`, the `pages` module) have nothing to read here, and are not needed: what a
//! module holds was written by whoever had the key. What is checked first is what parquet reads
//! before it authenticates anything: the plain `FileCryptoMetaData` before the footer, and each
//! module's length, which parquet allocates before reading the module.

use bytes::Bytes;
use parquet::file::metadata::ParquetMetaData;

use crate::encryption::{EncryptionInfo, KeyRing};
use crate::error::{Error, Result};

/// A module's nonce and tag: the least a module's length can be.
const MODULE_OVERHEAD: usize = 12 + 16;

/// The metadata of an encrypted file from `tail`, its last bytes from the start of its footer
/// (the plain `FileCryptoMetaData`, then the encrypted footer), length and magic included; its
/// data key unwrapped with a master key of `keys`; and how the file is encrypted.
#[cfg(feature = "encryption")]
pub(super) fn decrypt_footer(
    tail: Bytes,
    file_len: u64,
    keys: &KeyRing,
) -> Result<(ParquetMetaData, EncryptionInfo)> {
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};

    use super::slice::FileSlice;
    use crate::encryption::key_material::file_decryption;
    use crate::thrift::Cursor;

    let footer = &tail[..tail.len().saturating_sub(8)];
    let mut cursor = Cursor::new(footer, 0);
    cursor
        .read_struct(|cursor, _, wire| cursor.skip(wire))
        .map_err(|why| {
            Error::corruption(format!(
                "the encrypted file's crypto metadata is unreadable: {why}"
            ))
        })?;
    check_modules(&footer[cursor.position()..])
        .map_err(|why| Error::corruption(format!("the encrypted footer {why}")))?;

    let (decryption, used) = file_decryption(keys)?;
    let start = file_len.saturating_sub(tail.len() as u64);
    let slice = FileSlice::new(start, tail, file_len)
        .ok_or_else(|| Error::corruption("the tail is longer than the file"))?;
    let mut reader = ParquetMetaDataReader::new()
        .with_page_index_policy(PageIndexPolicy::Skip)
        .with_decryption_properties(Some(decryption));
    let metadata = reader
        .try_parse_sized(&slice, file_len)
        .and_then(|()| reader.finish())
        .map_err(|e| {
            used.problem().unwrap_or_else(|| {
                Error::corruption_from(
                    "the encrypted footer does not open with the file's data key: it is damaged",
                    e,
                )
            })
        })?;
    let key_id = used
        .footer_key_id()
        .ok_or_else(|| Error::decoding("the encrypted file names no master key for its footer"))?;
    Ok((metadata, EncryptionInfo::aes_gcm(&key_id)))
}

#[cfg(not(feature = "encryption"))]
pub(super) fn decrypt_footer(
    _: Bytes,
    _: u64,
    _: &KeyRing,
) -> Result<(ParquetMetaData, EncryptionInfo)> {
    Err(Error::decoding(
        "the Parquet file is encrypted, and this build has no `encryption` feature",
    ))
}

/// Checks that `bytes` are AES-GCM modules end to end, each's declared length inside them and
/// long enough for a nonce and a tag; the error says where not.
pub(crate) fn check_modules(bytes: &[u8]) -> std::result::Result<(), String> {
    let mut at = 0;
    while at < bytes.len() {
        let length = bytes
            .get(at..at + 4)
            .map(|l| u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize)
            .ok_or_else(|| format!("ends within a module's length at byte {at}"))?;
        if length < MODULE_OVERHEAD {
            return Err(format!(
                "has a module of {length} bytes at byte {at}, too short for a nonce and a tag"
            ));
        }
        at = (at + 4)
            .checked_add(length)
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| {
                format!(
                    "has a module of {length} bytes at byte {at}, beyond its end (byte {})",
                    bytes.len()
                )
            })?;
    }
    if bytes.is_empty() {
        return Err("is empty".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(len: usize) -> Vec<u8> {
        let mut m = (len as u32).to_le_bytes().to_vec();
        m.resize(4 + len, 0xab);
        m
    }

    #[test]
    fn modules_end_to_end_pass_and_any_overrun_is_refused() {
        let two = [module(40), module(28)].concat();
        assert_eq!(check_modules(&two), Ok(()));
        assert!(
            check_modules(&two[..two.len() - 1])
                .unwrap_err()
                .contains("beyond its end")
        );
        assert!(
            check_modules(&module(27))
                .unwrap_err()
                .contains("too short")
        );
        assert!(
            check_modules(&[1, 0])
                .unwrap_err()
                .contains("within a module's length")
        );
        assert!(check_modules(&[]).is_err());
        let mut huge = module(28);
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(check_modules(&huge).unwrap_err().contains("beyond its end"));
    }
}
