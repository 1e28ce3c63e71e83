//! Store URIs and the opendal `Operator` each one opens, with its layers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{Configurator, Operator, OperatorUri, services};

use crate::config::{ServerSideEncryption, StorageBackendConfig};
use crate::error::{Error, Result};
use crate::keys;
use crate::metrics;

/// A parsed store URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreUri {
    /// `file://PATH`: a local folder, relative to the working directory unless absolute.
    File(PathBuf),
    /// `memory://`: a store that lives as long as the process (tests, dry runs).
    Memory,
    /// `s3://bucket/prefix?…`: the URI itself, handed to opendal's S3 configuration, which also
    /// reads the standard AWS environment variables.
    S3(String),
}

impl StoreUri {
    pub(crate) fn parse(uri: &str) -> Result<StoreUri> {
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Err(Error::config(format!(
                "store URI {uri:?} has no scheme; use file://PATH, memory:// or s3://bucket/prefix"
            )));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" if rest.is_empty() => Err(Error::config(
                "file:// needs a path, e.g. file://./akidb-snapshots or file:///var/backups",
            )),
            "file" => Ok(StoreUri::File(PathBuf::from(rest))),
            "memory" if rest.is_empty() || rest == "/" => Ok(StoreUri::Memory),
            "memory" => Err(Error::config(format!(
                "memory:// takes no path or options, got {uri:?}"
            ))),
            "s3" => {
                let bucket = rest.split(['/', '?']).next().unwrap_or_default();
                if bucket.is_empty() {
                    return Err(Error::config(format!(
                        "{uri:?} names no bucket; use s3://bucket/prefix"
                    )));
                }
                Ok(StoreUri::S3(uri.to_owned()))
            }
            other => Err(Error::config(format!(
                "unsupported store scheme {other:?} in {uri:?}; use file://, memory:// or s3://"
            ))),
        }
    }

    /// Where a tool outside akidb finds the object at `key`: an absolute local path, an
    /// `s3://bucket/prefix/key` URL (without the URI's query), or `memory://key`, which no other
    /// process can read.
    pub(crate) fn location_of(&self, key: &str) -> String {
        match self {
            StoreUri::File(root) => std::path::absolute(root)
                .unwrap_or_else(|_| root.clone())
                .join(key)
                .display()
                .to_string(),
            StoreUri::Memory => format!("memory://{key}"),
            StoreUri::S3(uri) => {
                let base = uri.split('?').next().unwrap_or(uri).trim_end_matches('/');
                format!("{base}/{key}")
            }
        }
    }

    /// The key of what `location` names in this store, the inverse of
    /// [`location_of`](Self::location_of): a location with a scheme (`file://`, `s3://`,
    /// `memory://`) or an absolute path must lie under the store's root; anything else is a
    /// key already, relative to the root. `None` for a location outside the store.
    pub(crate) fn key_of(&self, location: &str) -> Option<String> {
        let has_scheme = location.contains("://");
        if !has_scheme && !location.starts_with('/') {
            return Some(location.trim_start_matches("./").to_owned());
        }
        let under = |base: &str, location: &str| {
            let base = base.trim_end_matches('/');
            location
                .strip_prefix(base)
                .and_then(|rest| rest.strip_prefix('/'))
                .filter(|key| !key.is_empty())
                .map(str::to_owned)
        };
        match self {
            StoreUri::File(root) => {
                let path = location.strip_prefix("file://").unwrap_or(location);
                let root = std::path::absolute(root).ok()?;
                let path = std::path::absolute(path).ok()?;
                let key = path.strip_prefix(&root).ok()?;
                let key = key.to_str()?;
                (!key.is_empty()).then(|| key.to_owned())
            }
            StoreUri::Memory => location
                .strip_prefix("memory://")
                .filter(|key| !key.is_empty())
                .map(str::to_owned),
            StoreUri::S3(uri) => under(uri.split('?').next().unwrap_or(uri), location),
        }
    }

    /// Opens the store, bare: [`with_layers`] adds retries and timeouts. `sse` is S3's
    /// server-side encryption of what is written, which only an S3 store has.
    pub(crate) fn open(&self, sse: Option<&ServerSideEncryption>) -> Result<Operator> {
        match (self, sse) {
            (StoreUri::S3(uri), sse) => s3_operator(uri, sse),
            (_, Some(_)) => Err(Error::config(
                "[storage.server_side_encryption] is S3's encryption at rest, and the store is \
                 not on S3; for a local store, encrypt the disk, or use [storage.encryption]",
            )),
            (StoreUri::File(path), None) => fs_operator(path),
            (StoreUri::Memory, None) => Operator::new(services::Memory::default())
                .map_err(|e| Error::config_from("cannot open the memory store", e)),
        }
    }
}

/// `op` with retries (outside) and per-attempt timeouts (inside), as opendal's layer
/// documentation prescribes.
pub(crate) fn with_layers(op: Operator, config: &StorageBackendConfig) -> Operator {
    let retry = &config.retry;
    let retry_layer = RetryLayer::new()
        .with_jitter()
        .with_factor(2.0)
        .with_min_delay(retry.min_delay())
        .with_max_delay(retry.max_delay())
        .with_max_times(retry.max_retries)
        .with_notify(metrics::record_retry);
    op.layer(
        TimeoutLayer::new()
            .with_timeout(Duration::from_secs(config.timeout.request_secs))
            .with_io_timeout(Duration::from_secs(config.timeout.io_secs)),
    )
    .layer(retry_layer)
}

fn fs_operator(path: &Path) -> Result<Operator> {
    let root = std::path::absolute(path).map_err(|e| {
        Error::config_from(
            format!("cannot resolve the store path {}", path.display()),
            e,
        )
    })?;
    std::fs::create_dir_all(&root).map_err(|e| {
        Error::config_from(
            format!("cannot create the store folder {}: {e}", root.display()),
            e,
        )
    })?;
    let root_text = root.to_str().ok_or_else(|| {
        Error::config(format!(
            "the store path {} is not valid UTF-8",
            root.display()
        ))
    })?;
    let temp = root.join(keys::TEMP_DIR);
    let builder = services::Fs::default()
        .root(root_text)
        .atomic_write_dir(temp.to_str().unwrap_or(root_text));
    Operator::new(builder)
        .map_err(|e| Error::config_from(format!("cannot open {}: {e}", root.display()), e))
}

fn s3_operator(uri: &str, sse: Option<&ServerSideEncryption>) -> Result<Operator> {
    // opendal's HTTP services need a transport installed once per process: reqwest, on rustls
    // with ring as its cryptography. A host that installed a rustls provider or an opendal
    // transport of its own keeps it: both are first-installed-wins.
    static HTTP: std::sync::Once = std::sync::Once::new();
    HTTP.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        opendal::HttpTransporter::install_default(
            opendal_http_transport_reqwest::ReqwestTransport::default(),
        );
    });
    let parsed = OperatorUri::new(uri, std::iter::empty())
        .map_err(|e| Error::config_from(format!("{uri:?} is not a valid S3 URI: {e}"), e))?;
    let mut config = services::S3Config::from_uri(&parsed)
        .map_err(|e| Error::config_from(format!("{uri:?}: {e}"), e))?;
    if let Some(sse) = sse {
        config.server_side_encryption = Some(sse.algorithm().to_owned());
        config.server_side_encryption_aws_kms_key_id = match sse {
            ServerSideEncryption::Kms { kms_key_id } => kms_key_id.clone(),
            _ => None,
        };
    }
    Operator::from_config(config).map_err(|e| {
        Error::config_from(
            format!(
                "cannot open {uri:?}: {e}. Set AWS_REGION (or ?region=) and, for an \
                 S3-compatible server, AWS_ENDPOINT_URL (or ?endpoint=)"
            ),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn uris_parse() {
        assert_eq!(
            StoreUri::parse("file://./akidb-snapshots").unwrap(),
            StoreUri::File("./akidb-snapshots".into())
        );
        assert_eq!(
            StoreUri::parse("file:///var/backups").unwrap(),
            StoreUri::File("/var/backups".into())
        );
        assert_eq!(StoreUri::parse("memory://").unwrap(), StoreUri::Memory);
        assert_eq!(
            StoreUri::parse("s3://bucket/prefix?region=eu-west-1").unwrap(),
            StoreUri::S3("s3://bucket/prefix?region=eu-west-1".into())
        );
    }

    #[test]
    fn locations_in_the_store_are_keys_and_those_outside_are_not() {
        let file = StoreUri::File("/var/backups".into());
        let s3 = StoreUri::S3("s3://bucket/pre?region=x".into());
        for (uri, location, key) in [
            (
                &file,
                "/var/backups/spark/a.parquet",
                Some("spark/a.parquet"),
            ),
            (&file, "file:///var/backups/a.parquet", Some("a.parquet")),
            (&file, "spark/a.parquet", Some("spark/a.parquet")),
            (&file, "./a.parquet", Some("a.parquet")),
            (&file, "/var/backupsX/a.parquet", None),
            (&file, "/var/backups", None),
            (&file, "/elsewhere/a.parquet", None),
            (
                &s3,
                "s3://bucket/pre/spark/a.parquet",
                Some("spark/a.parquet"),
            ),
            (&s3, "s3://bucket/prefix/a.parquet", None),
            (&s3, "s3://other/pre/a.parquet", None),
            (&StoreUri::Memory, "memory://a.parquet", Some("a.parquet")),
            (&StoreUri::Memory, "s3://bucket/a.parquet", None),
        ] {
            assert_eq!(uri.key_of(location).as_deref(), key, "{location}");
            if let Some(key) = key.filter(|_| location.contains("://")) {
                assert_eq!(uri.key_of(&uri.location_of(key)).as_deref(), Some(key));
            }
        }
    }

    #[test]
    fn bad_uris_say_what_to_write() {
        for (uri, needle) in [
            ("./akidb-snapshots", "no scheme"),
            ("file://", "needs a path"),
            ("memory://x", "no path"),
            ("s3://", "no bucket"),
            ("s3:///prefix", "no bucket"),
            ("gs://bucket", "unsupported store scheme \"gs\""),
        ] {
            let err = StoreUri::parse(uri).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains(needle), "{uri}: {err}");
        }
    }

    #[test]
    fn s3_options_come_from_the_query() {
        let uri = StoreUri::parse(
            "s3://bucket/some/prefix?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A9&access_key_id=a&secret_access_key=b",
        )
        .unwrap();
        let op = uri.open(None).unwrap();
        let info = op.info();
        assert_eq!(info.name(), "bucket");
        assert_eq!(info.root(), "/some/prefix/");
    }
}
