//! The data model: what a snapshot holds.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// One vector and what belongs to it.
///
/// ```
/// use akidb_snapshot_codec::{Timestamp, VectorDocument};
/// use uuid::Uuid;
///
/// let doc = VectorDocument::new(Uuid::from_u128(1), vec![0.5, -1.0])
///     .with_external_id("doc-1")
///     .with_metadata(serde_json::json!({"lang": "en"}))
///     .with_inserted_at(Timestamp::from_millis(1_700_000_000_000));
/// assert_eq!(doc.dimension(), 2);
/// assert_eq!(doc.external_id.as_deref(), Some("doc-1"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorDocument {
    /// The document's id, unique within its collection.
    pub document_id: Uuid,
    /// The caller's own id for the document, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The embedding. Every document of a snapshot has the same dimension.
    pub vector: Vec<f32>,
    /// Arbitrary JSON that travels with the document. `Some(Value::Null)` (metadata that is
    /// JSON `null`) and `None` (no metadata) stay distinct in both formats.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_value"
    )]
    pub metadata: Option<serde_json::Value>,
    /// When the document was inserted, in UTC, to the millisecond.
    pub inserted_at: Timestamp,
}

impl VectorDocument {
    /// A document with no external id, no metadata, inserted at the Unix epoch.
    pub fn new(document_id: Uuid, vector: Vec<f32>) -> Self {
        VectorDocument {
            document_id,
            external_id: None,
            vector,
            metadata: None,
            inserted_at: Timestamp::UNIX_EPOCH,
        }
    }

    /// Sets the external id.
    pub fn with_external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Sets the metadata.
    pub fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Sets the insertion time.
    pub fn with_inserted_at(mut self, inserted_at: Timestamp) -> Self {
        self.inserted_at = inserted_at;
        self
    }

    /// The vector's length.
    pub fn dimension(&self) -> usize {
        self.vector.len()
    }
}

/// A field that is present is `Some`, even when it holds `null`; only an absent one (serde's
/// `default`) is `None`.
fn present_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// A point in time in UTC, to the millisecond: the precision a snapshot stores.
///
/// Any `i64` count of milliseconds since the Unix epoch is a valid `Timestamp`, so whatever a
/// Parquet file holds can be represented; only [`to_datetime`](Self::to_datetime) and the
/// RFC 3339 text form are limited to chrono's range (about ±262,000 years).
///
/// ```
/// use akidb_snapshot_codec::Timestamp;
///
/// let t: Timestamp = "2026-11-24T10:30:00.250Z".parse().unwrap();
/// assert_eq!(t.as_millis(), 1_795_516_200_250);
/// assert_eq!(t.to_string(), "2026-11-24T10:30:00.250Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// 1970-01-01T00:00:00.000Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// The timestamp `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// As a chrono `DateTime`, or `None` outside chrono's range.
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.0)
    }

    /// RFC 3339 text with milliseconds and `Z`, or `None` outside the years 0 to 9999 that
    /// RFC 3339 can write.
    pub fn to_rfc3339(self) -> Option<String> {
        self.to_datetime()
            .filter(|t| (0..=9999).contains(&t.year()))
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

/// Truncates toward the past to whole milliseconds, the precision a snapshot stores.
impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t.timestamp_millis())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_rfc3339() {
            Some(text) => f.write_str(&text),
            None => write!(f, "{}ms since the Unix epoch", self.0),
        }
    }
}

/// Parses RFC 3339 text with any offset; precision below a millisecond is truncated.
impl FromStr for Timestamp {
    type Err = chrono::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc).into())
    }
}

/// RFC 3339 text, as in the JSON snapshot and metadata formats.
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.to_rfc3339() {
            Some(text) => serializer.serialize_str(&text),
            None => Err(serde::ser::Error::custom(format!(
                "timestamp {} ms is outside the range RFC 3339 can write",
                self.0
            ))),
        }
    }
}

/// RFC 3339 text, or an integer of milliseconds since the Unix epoch (what most databases
/// export), negative before 1970. An integer must lie in the years RFC 3339 can write (0 to
/// 9999), so that whatever is read can be written back as text. A float, or text that is not
/// RFC 3339, is an error that says which forms are accepted.
///
/// ```
/// use akidb_snapshot_codec::Timestamp;
///
/// let from_text: Timestamp = serde_json::from_str(r#""1969-12-31T23:59:59.999Z""#).unwrap();
/// let from_millis: Timestamp = serde_json::from_str("-1").unwrap();
/// assert_eq!(from_text, from_millis);
/// assert!(serde_json::from_str::<Timestamp>("1.5").is_err());
/// ```
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimestampVisitor)
    }
}

struct TimestampVisitor;

impl TimestampVisitor {
    fn millis<E: serde::de::Error>(millis: i128) -> Result<Timestamp, E> {
        i64::try_from(millis)
            .ok()
            .map(Timestamp)
            .filter(|t| t.to_rfc3339().is_some())
            .ok_or_else(|| {
                E::custom(format!(
                    "{millis} ms since the Unix epoch is outside the years 0 to 9999 that a \
                     timestamp may hold"
                ))
            })
    }
}

impl serde::de::Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp string or an integer of epoch milliseconds")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
        text.parse().map_err(|e| {
            E::custom(format!(
                "`{text}` is not an RFC 3339 timestamp ({e}); give text such as \
                 \"2026-11-24T10:30:00Z\" or an integer of epoch milliseconds"
            ))
        })
    }

    fn visit_i64<E: serde::de::Error>(self, millis: i64) -> Result<Timestamp, E> {
        Self::millis(millis.into())
    }

    fn visit_u64<E: serde::de::Error>(self, millis: u64) -> Result<Timestamp, E> {
        Self::millis(millis.into())
    }

    // serde_json hands integers too large for 64 bits over as floats as well.
    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Timestamp, E> {
        Err(E::custom(format!(
            "{value} is not a timestamp: give an integer of epoch milliseconds in the years 0 \
             to 9999, or RFC 3339 text"
        )))
    }
}

macro_rules! uuid_newtype {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                $name(id)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        /// A hyphenated, simple, braced or URN UUID; not the nil UUID, which names nothing.
        /// Either refusal is a [`Validation`](crate::Error::Validation) error saying what an id
        /// must be.
        impl FromStr for $name {
            type Err = crate::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                crate::error::parse_id($what, s).map($name)
            }
        }
    };
}

uuid_newtype!(
    /// Names a collection. Snapshots are grouped by it.
    ///
    /// ```
    /// use akidb_snapshot_codec::CollectionId;
    ///
    /// let id: CollectionId = "0192f0c1-5d0e-7c3a-9b7e-1f2a3b4c5d6e".parse().unwrap();
    /// assert_eq!(id.to_string(), "0192f0c1-5d0e-7c3a-9b7e-1f2a3b4c5d6e");
    /// assert!("../etc".parse::<CollectionId>().is_err());
    /// let nil = "00000000-0000-0000-0000-000000000000".parse::<CollectionId>().unwrap_err();
    /// assert!(nil.to_string().contains("nil UUID"), "{nil}");
    /// ```
    CollectionId,
    "collection_id"
);

uuid_newtype!(
    /// Names a snapshot. New ids are UUID v7, so they sort by creation time; the storage layer
    /// mints them (the codec has no clock).
    ///
    /// ```
    /// use akidb_snapshot_codec::SnapshotId;
    /// use uuid::Uuid;
    ///
    /// let id = SnapshotId::from_uuid(Uuid::from_u128(7));
    /// assert_eq!(id.as_uuid().as_u128(), 7);
    /// ```
    SnapshotId,
    "snapshot_id"
);
