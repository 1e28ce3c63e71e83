//! Store URIs and the opendal `Operator` each one opens, with its layers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{Configurator, Operator, OperatorUri, services};

use crate::config::{ServerSideEncryption, StorageBackendConfig};
use crate::error::{Error, Result};
use crate::keys;
use crate::metrics;

/// The object stores a URI names by its scheme, each opened by opendal's service of that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cloud {
    /// `s3://bucket/prefix`: AWS S3 or an S3-compatible server.
    S3,
    /// `gs://bucket/prefix`: Google Cloud Storage.
    Gcs,
    /// `azblob://container/prefix`: Azure Blob Storage.
    Azblob,
}

impl Cloud {
    fn of(scheme: &str) -> Option<Cloud> {
        match scheme {
            "s3" => Some(Cloud::S3),
            "gs" => Some(Cloud::Gcs),
            "azblob" => Some(Cloud::Azblob),
            _ => None,
        }
    }

    /// What the first segment of the URI names.
    fn bucket_word(self) -> &'static str {
        match self {
            Cloud::Azblob => "container",
            Cloud::S3 | Cloud::Gcs => "bucket",
        }
    }
}

/// A parsed store URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreUri {
    /// `file://PATH`: a local folder, relative to the working directory unless absolute.
    File(PathBuf),
    /// `memory://`: a store that lives as long as the process (tests, dry runs).
    Memory,
    /// `s3://`, `gs://` or `azblob://` with a bucket (or container) and a prefix: the URI
    /// itself, whose query is handed to opendal's configuration of that service, with
    /// credentials from the environment variables each cloud's own tools read.
    Cloud(Cloud, String),
}

const SCHEMES: &str = "file://PATH, memory://, s3://bucket/prefix, gs://bucket/prefix or \
                       azblob://container/prefix";

impl StoreUri {
    pub(crate) fn parse(uri: &str) -> Result<StoreUri> {
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Err(Error::config(format!(
                "store URI {uri:?} has no scheme; use {SCHEMES}"
            )));
        };
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "file" if rest.is_empty() => Err(Error::config(
                "file:// needs a path, e.g. file://./akidb-snapshots or file:///var/backups",
            )),
            "file" => Ok(StoreUri::File(PathBuf::from(rest))),
            "memory" if rest.is_empty() || rest == "/" => Ok(StoreUri::Memory),
            "memory" => Err(Error::config(format!(
                "memory:// takes no path or options, got {uri:?}"
            ))),
            other => {
                let Some(cloud) = Cloud::of(other) else {
                    return Err(Error::config(format!(
                        "unsupported store scheme {other:?} in {uri:?}; use {SCHEMES}"
                    )));
                };
                let bucket = rest.split(['/', '?']).next().unwrap_or_default();
                if bucket.is_empty() {
                    let word = cloud.bucket_word();
                    return Err(Error::config(format!(
                        "{uri:?} names no {word}; use {other}://{word}/prefix"
                    )));
                }
                Ok(StoreUri::Cloud(cloud, uri.to_owned()))
            }
        }
    }

    /// Where a tool outside akidb finds the object at `key`: an absolute local path, a
    /// `s3://bucket/prefix/key` URL (or `gs://`, `azblob://`; without the URI's query), or
    /// `memory://key`, which no other process can read.
    pub(crate) fn location_of(&self, key: &str) -> String {
        match self {
            StoreUri::File(root) => std::path::absolute(root)
                .unwrap_or_else(|_| root.clone())
                .join(key)
                .display()
                .to_string(),
            StoreUri::Memory => format!("memory://{key}"),
            StoreUri::Cloud(_, uri) => format!("{}/{key}", base_of(uri)),
        }
    }

    /// The key of what `location` names in this store, the inverse of
    /// [`location_of`](Self::location_of): a location with a scheme (`file://`, `s3://`,
    /// `memory://`, …) or an absolute path must lie under the store's root; anything else is a
    /// key already, relative to the root. `None` for a location outside the store.
    pub(crate) fn key_of(&self, location: &str) -> Option<String> {
        let has_scheme = location.contains("://");
        if !has_scheme && !location.starts_with('/') {
            return Some(location.trim_start_matches("./").to_owned());
        }
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
            StoreUri::Cloud(_, uri) => location
                .strip_prefix(base_of(uri))
                .and_then(|rest| rest.strip_prefix('/'))
                .filter(|key| !key.is_empty())
                .map(str::to_owned),
        }
    }

    /// Opens the store, bare: [`with_layers`] adds retries and timeouts. Of `config`, what
    /// only some stores have: S3's server-side encryption, and the storage class of what is
    /// written (S3 and Cloud Storage).
    pub(crate) fn open(&self, config: &StorageBackendConfig) -> Result<Operator> {
        let class = config.storage_class.as_deref();
        if let Some(class) = class {
            self.check_storage_class(class)?;
        }
        match (self, config.server_side_encryption.as_ref()) {
            (StoreUri::Cloud(Cloud::S3, uri), sse) => s3_operator(uri, sse, class),
            (_, Some(_)) => Err(Error::config(
                "[storage.server_side_encryption] is S3's encryption at rest, and the store is \
                 not on S3 (Google Cloud Storage and Azure encrypt every object at rest \
                 already); to encrypt with keys of your own, use [storage.encryption]",
            )),
            (StoreUri::Cloud(Cloud::Gcs, uri), None) => gcs_operator(uri, class),
            (StoreUri::Cloud(Cloud::Azblob, uri), None) => azblob_operator(uri),
            (StoreUri::File(path), None) => fs_operator(path),
            (StoreUri::Memory, None) => Operator::new(services::Memory::default())
                .map_err(|e| Error::config_from("cannot open the memory store", e)),
        }
    }
}

impl StoreUri {
    /// Whether new objects of this store can be written in storage class `class`.
    fn check_storage_class(&self, class: &str) -> Result<()> {
        match self {
            StoreUri::Cloud(Cloud::S3, _) if S3_ARCHIVE_CLASSES.contains(&class) => {
                Err(Error::config(format!(
                    "storage class {class} keeps objects that cannot be read until restored, so a \
                     snapshot there can be neither verified nor restored; use GLACIER_IR (read \
                     at once) or move the objects later with a bucket lifecycle rule"
                )))
            }
            StoreUri::Cloud(Cloud::S3 | Cloud::Gcs, _) if !class.is_empty() => Ok(()),
            StoreUri::Cloud(Cloud::S3 | Cloud::Gcs, _) => Err(Error::config(
                "storage_class is empty: name a class, or leave it out",
            )),
            _ => Err(Error::config(format!(
                "storage class {class}: only S3 and Google Cloud Storage stores have storage \
                 classes (Azure's access tiers are set on the container)"
            ))),
        }
    }
}

/// S3's classes whose objects must be restored before they are read.
const S3_ARCHIVE_CLASSES: [&str; 2] = ["GLACIER", "DEEP_ARCHIVE"];

/// A cloud URI without its query or a trailing slash: what keys are appended to.
fn base_of(uri: &str) -> &str {
    uri.split('?').next().unwrap_or(uri).trim_end_matches('/')
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

/// Installs opendal's HTTP transport, once per process: reqwest, on rustls with ring as its
/// cryptography. A host that installed a rustls provider or an opendal transport of its own
/// keeps it: both are first-installed-wins.
fn install_http() {
    static HTTP: std::sync::Once = std::sync::Once::new();
    HTTP.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        opendal::HttpTransporter::install_default(
            opendal_http_transport_reqwest::ReqwestTransport::default(),
        );
    });
}

/// `uri` parsed, and the configuration of `C` its bucket, prefix and query make.
fn cloud_config<C: Configurator>(uri: &str) -> Result<C> {
    install_http();
    let parsed = OperatorUri::new(uri, std::iter::empty())
        .map_err(|e| Error::config_from(format!("{uri:?} is not a valid store URI: {e}"), e))?;
    C::from_uri(&parsed).map_err(|e| Error::config_from(format!("{uri:?}: {e}"), e))
}

fn s3_operator(
    uri: &str,
    sse: Option<&ServerSideEncryption>,
    class: Option<&str>,
) -> Result<Operator> {
    let mut config: services::S3Config = cloud_config(uri)?;
    if let Some(class) = class {
        config.default_storage_class = Some(class.to_owned());
    }
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

/// The variable Google's client libraries read the address of a Cloud Storage emulator from.
const GCS_EMULATOR_ENV: &str = "STORAGE_EMULATOR_HOST";

/// Google Cloud Storage, as Google's own client libraries find it: credentials from the file
/// `GOOGLE_APPLICATION_CREDENTIALS` names (or the VM's metadata server), and, when
/// `STORAGE_EMULATOR_HOST` is set and the URI names no `endpoint`, that emulator, unsigned.
fn gcs_operator(uri: &str, class: Option<&str>) -> Result<Operator> {
    let mut config: services::GcsConfig = cloud_config(uri)?;
    if let Some(class) = class {
        config.default_storage_class = Some(class.to_owned());
    }
    let emulator = std::env::var(GCS_EMULATOR_ENV)
        .ok()
        .filter(|h| !h.is_empty());
    if let (None, Some(host)) = (&config.endpoint, emulator) {
        config.endpoint = Some(with_http_scheme(host));
        config.skip_signature = true;
        config.disable_vm_metadata = true;
        config.disable_config_load = true;
    }
    Operator::from_config(config).map_err(|e| {
        Error::config_from(
            format!(
                "cannot open {uri:?}: {e}. Set GOOGLE_APPLICATION_CREDENTIALS to a service \
                 account's key file, or {GCS_EMULATOR_ENV} to an emulator's host:port"
            ),
            e,
        )
    })
}

/// The variables Azure's tools read an account from: a connection string (what Azurite
/// documents), else an account name and key.
const AZURE_CONNECTION_ENV: &str = "AZURE_STORAGE_CONNECTION_STRING";
const AZURE_ACCOUNT_ENV: &str = "AZURE_STORAGE_ACCOUNT";
const AZURE_KEY_ENV: &str = "AZURE_STORAGE_KEY";

/// Azure Blob Storage: the account of `AZURE_STORAGE_CONNECTION_STRING`, or else of
/// `AZURE_STORAGE_ACCOUNT` and `AZURE_STORAGE_KEY`, at `https://{account}.blob.core.windows.net`;
/// the URI's query (`account_name`, `account_key`, `sas_token`, `endpoint`) overrides both.
fn azblob_operator(uri: &str) -> Result<Operator> {
    let config: services::AzblobConfig = cloud_config(uri)?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut builder = match env(AZURE_CONNECTION_ENV) {
        Some(connection) => services::Azblob::from_connection_string(&connection).map_err(|e| {
            Error::config_from(format!("{AZURE_CONNECTION_ENV} is not valid: {e}"), e)
        })?,
        None => {
            let mut builder = services::Azblob::default();
            if let Some(account) = env(AZURE_ACCOUNT_ENV) {
                builder = builder
                    .endpoint(&format!("https://{account}.blob.core.windows.net"))
                    .account_name(&account);
            }
            if let Some(key) = env(AZURE_KEY_ENV) {
                builder = builder.account_key(&key);
            }
            builder
        }
    };
    builder = builder
        .container(&config.container)
        .root(config.root.as_deref().unwrap_or("/"));
    if let Some(account) = &config.account_name {
        builder = builder.account_name(account);
        if config.endpoint.is_none() {
            builder = builder.endpoint(&format!("https://{account}.blob.core.windows.net"));
        }
    }
    if let Some(endpoint) = &config.endpoint {
        builder = builder.endpoint(endpoint);
    }
    if let Some(key) = &config.account_key {
        builder = builder.account_key(key);
    }
    if let Some(token) = &config.sas_token {
        builder = builder.sas_token(token);
    }
    Operator::new(builder).map_err(|e| {
        Error::config_from(
            format!(
                "cannot open {uri:?}: {e}. Set {AZURE_CONNECTION_ENV}, or {AZURE_ACCOUNT_ENV} \
                 and {AZURE_KEY_ENV}"
            ),
            e,
        )
    })
}

/// `host` as an endpoint: `http://host:port` unless it names its scheme.
fn with_http_scheme(host: String) -> String {
    if host.contains("://") {
        host
    } else {
        format!("http://{host}")
    }
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
            StoreUri::Cloud(Cloud::S3, "s3://bucket/prefix?region=eu-west-1".into())
        );
    }

    #[test]
    fn locations_in_the_store_are_keys_and_those_outside_are_not() {
        let file = StoreUri::File("/var/backups".into());
        let s3 = StoreUri::Cloud(Cloud::S3, "s3://bucket/pre?region=x".into());
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
            ("gcs://bucket", "unsupported store scheme \"gcs\""),
            ("azblob:///prefix", "names no container"),
            ("gs://", "no bucket; use gs://bucket/prefix"),
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
        let op = uri.open(&StorageBackendConfig::default()).unwrap();
        let info = op.info();
        assert_eq!(info.name(), "bucket");
        assert_eq!(info.root(), "/some/prefix/");
    }

    #[test]
    fn gcs_and_azure_uris_name_a_bucket_or_container_and_a_prefix() {
        for (uri, scheme, name) in [
            (
                "gs://bucket/some/prefix?endpoint=http://127.0.0.1:9&skip_signature=true",
                "gcs",
                "bucket",
            ),
            (
                "azblob://container/some/prefix?endpoint=http://127.0.0.1:9/acct\
                 &account_name=acct&account_key=a2V5",
                "azblob",
                "container",
            ),
        ] {
            let parsed = StoreUri::parse(uri).unwrap();
            let op = parsed.open(&StorageBackendConfig::default()).unwrap();
            let info = op.info();
            assert_eq!(
                (info.scheme(), info.name().as_str()),
                (scheme, name),
                "{uri}"
            );
            assert_eq!(info.root(), "/some/prefix/", "{uri}");
            let key = "parts/c/p.parquet";
            let location = parsed.location_of(key);
            assert!(
                location.ends_with("/some/prefix/parts/c/p.parquet"),
                "{location}"
            );
            assert_eq!(parsed.key_of(&location).as_deref(), Some(key));
        }
    }

    #[test]
    fn s3_encryption_at_rest_is_refused_elsewhere() {
        let config = StorageBackendConfig {
            server_side_encryption: Some(ServerSideEncryption::S3),
            ..StorageBackendConfig::default()
        };
        for uri in ["gs://bucket/p", "azblob://container/p", "memory://"] {
            let err = StoreUri::parse(uri).unwrap().open(&config).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(
                err.to_string().contains("[storage.encryption]"),
                "{uri}: {err}"
            );
        }
    }

    #[test]
    fn storage_classes_are_for_s3_and_gcs_and_readable_ones_only() {
        let with = |class: &str| StorageBackendConfig {
            storage_class: Some(class.to_owned()),
            ..StorageBackendConfig::default()
        };
        let s3 = "s3://bucket/p?region=eu-west-1";
        assert!(
            StoreUri::parse(s3)
                .unwrap()
                .open(&with("STANDARD_IA"))
                .is_ok()
        );
        let gcs = StoreUri::parse("gs://bucket/p?endpoint=http://127.0.0.1:9&skip_signature=true");
        assert!(gcs.unwrap().open(&with("NEARLINE")).is_ok());
        for (uri, class, needle) in [
            (s3, "DEEP_ARCHIVE", "GLACIER_IR"),
            (s3, "", "empty"),
            (
                "azblob://container/p",
                "Cool",
                "only S3 and Google Cloud Storage",
            ),
            ("file:///tmp/akidb-class", "STANDARD_IA", "only S3"),
        ] {
            let err = StoreUri::parse(uri)
                .unwrap()
                .open(&with(class))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains(needle), "{uri} {class}: {err}");
        }
    }
}
