//! Encrypted files: they read back with the master key, name the key they need without it,
//! hold none of their plaintext, and a damaged byte anywhere is an error, never a changed value.

mod common;

use akidb_snapshot_codec::*;
use bytes::Bytes;
use common::*;
use serde_json::json;
use uuid::Uuid;

const SECRET_NAME: &str = "patient-4711-alice";
const SECRET_NOTE: &str = "diagnosis: confidential";

fn master(hex_byte: &str, hex_len: usize) -> MasterKey {
    MasterKey::from_hex("records-2026", &hex_byte.repeat(hex_len / 2)).unwrap()
}

/// Documents whose external ids, metadata and floats are easy to look for in the bytes.
fn secret_docs(n: usize) -> Vec<VectorDocument> {
    (0..n)
        .map(|i| {
            VectorDocument::new(
                Uuid::from_u128(i as u128 + 1),
                (0..16).map(|j| 1234.5 + (i * 16 + j) as f32).collect(),
            )
            .with_external_id(format!("{SECRET_NAME}-{i}"))
            .with_metadata(json!({ "note": SECRET_NOTE, "i": i }))
        })
        .collect()
}

fn encrypt(docs: &[VectorDocument], config: ParquetConfig, key: &MasterKey) -> Vec<u8> {
    let mut writer = ParquetWriter::try_new(Vec::new(), header(), config)
        .unwrap()
        .with_encryption(key.clone())
        .unwrap();
    writer.write(docs).unwrap();
    let (file, summary) = writer.finish().unwrap();
    assert_eq!(summary.size_bytes, file.len() as u64);
    assert!(summary.layout.is_none(), "encrypted pages are not walked");
    file
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn every_key_size_compression_and_encoding_reads_back_with_the_key() {
    let docs = secret_docs(2_500);
    for (hex_len, compression, encoding) in [
        (32, Compression::default(), VectorEncoding::ByteStreamSplit),
        (48, Compression::Snappy, VectorEncoding::Plain),
        (64, Compression::Lz4, VectorEncoding::ByteStreamSplit),
        (64, Compression::None, VectorEncoding::Plain),
    ] {
        let key = master("3c", hex_len);
        let config = ParquetConfig::default()
            .with_compression(compression)
            .with_vector_encoding(encoding)
            .with_row_group_size(1_000);
        let file = encrypt(&docs, config, &key);
        assert_eq!(&file[..4], b"PARE");
        assert_eq!(&file[file.len() - 4..], b"PARE");
        let keys = KeyRing::from(key);
        let back = decode_parquet_with_keys(Bytes::from(file.clone()), &Limits::default(), &keys);
        assert_same(&back.unwrap(), &docs);
        let info = inspect_parquet_with_keys(&file, &Limits::default(), &keys).unwrap();
        assert_eq!(
            info.encryption,
            Some(EncryptionInfo::aes_gcm("records-2026"))
        );
        assert_eq!(info.row_groups.len(), 3);
        assert_eq!(info.header, Some(header()));
        assert_eq!(info.compression, Some(compression));
    }
}

#[test]
fn no_plaintext_is_stored() {
    let docs = secret_docs(300);
    // Uncompressed, floats end to end: as plain as a file gets.
    let config = ParquetConfig::default()
        .with_compression(Compression::None)
        .with_vector_encoding(VectorEncoding::Plain)
        .with_dictionary(false);
    let file = encrypt(&docs, config.clone(), &master("a1", 64));
    assert!(!contains(&file, SECRET_NAME.as_bytes()));
    assert!(!contains(&file, SECRET_NOTE.as_bytes()));
    let floats: Vec<u8> = docs[7].vector[..4]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    assert!(!contains(&file, &floats));
    // Nor the footer's keys and schema: the footer is encrypted too.
    assert!(!contains(&file, b"akidb.collection_id"));
    assert!(!contains(&file, b"document_id"));
    // Only the key material is plain: the master key's id, and the wrapped data key.
    assert!(contains(&file, br#""masterKeyID":"records-2026""#));
    // A plain file holds them all, so the search above can fail.
    let (plain, _) = encode_parquet(&docs, &header(), &config).unwrap();
    assert!(contains(&plain, SECRET_NAME.as_bytes()) && contains(&plain, &floats));
    assert!(contains(&plain, SECRET_NOTE.as_bytes()));
}

#[test]
fn without_the_key_or_with_another_the_error_names_the_key_id() {
    let key = master("5e", 64);
    let file = Bytes::from(encrypt(&secret_docs(10), ParquetConfig::default(), &key));
    let limits = Limits::default();

    let none = decode_parquet(file.clone(), &limits).unwrap_err();
    assert!(
        matches!(&none, Error::EncryptionKey { key_id, given: false } if key_id == "records-2026"),
        "{none:?}"
    );
    assert!(none.to_string().contains("`records-2026`"), "{none}");
    let inspected = inspect_parquet(&file, &limits).unwrap_err();
    assert_eq!(inspected.kind(), ErrorKind::EncryptionKey);

    let other_id = KeyRing::from(MasterKey::from_hex("other", &"5e".repeat(32)).unwrap());
    let err = decode_parquet_with_keys(file.clone(), &limits, &other_id).unwrap_err();
    assert!(
        matches!(err, Error::EncryptionKey { given: false, .. }),
        "{err:?}"
    );

    for wrong in [master("5f", 64), master("5e", 32)] {
        let err = decode_parquet_with_keys(file.clone(), &limits, &wrong.into()).unwrap_err();
        assert!(
            matches!(&err, Error::EncryptionKey { given: true, .. }),
            "{err:?}"
        );
        assert!(!err.to_string().contains("5e5e"), "{err}");
    }
}

/// AES-GCM authenticates every module: a flipped byte in a page or the footer is refused, and no
/// flip yields documents that differ from those written (a flip in a module a whole read does
/// not open, the page index, changes nothing read).
#[test]
fn a_flipped_byte_anywhere_is_refused_never_decoded_to_other_values() {
    let docs = secret_docs(200);
    let key = master("77", 32);
    let file = encrypt(
        &docs,
        ParquetConfig::default().with_row_group_size(64),
        &key,
    );
    let keys = KeyRing::from(key);
    let step = (file.len() / 211).max(1);
    let (mut tried, mut refused) = (0, 0);
    for at in (0..file.len()).step_by(step) {
        tried += 1;
        let mut damaged = file.clone();
        damaged[at] ^= 0x10;
        match decode_parquet_with_keys(Bytes::from(damaged), &Limits::default(), &keys) {
            Ok(back) => assert!(back == docs, "a flip at byte {at} changed what was read"),
            Err(e) => {
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::DataCorruption | ErrorKind::EncryptionKey | ErrorKind::Decoding
                    ),
                    "byte {at}: {e:?}"
                );
                refused += 1;
            }
        }
    }
    // Pages and the footer are most of the file.
    assert!(refused * 10 >= tried * 8, "{refused} of {tried} refused");
}

#[test]
fn a_plain_file_reads_with_keys_given_and_no_key_is_needed() {
    let docs = docs(20, 4);
    let (plain, _) = encode_parquet(&docs, &header(), &ParquetConfig::default()).unwrap();
    let keys = KeyRing::from(master("01", 32));
    let back = decode_parquet_with_keys(plain.into(), &Limits::default(), &keys).unwrap();
    assert_eq!(back, docs);
}
