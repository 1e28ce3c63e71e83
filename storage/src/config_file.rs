//! Configuration files: the `[storage]` table of DESIGN.md and the `[lifecycle]` rules of
//! unattended runs, read together so that a typo in either is an error.

use std::path::Path;

use serde::Deserialize;

use crate::config::StorageBackendConfig;
use crate::error::{Error, Result};
use crate::lifecycle::LifecycleConfig;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    storage: StorageBackendConfig,
    #[serde(default)]
    lifecycle: Option<LifecycleConfig>,
}

impl ConfigFile {
    fn parse(toml: &str) -> Result<ConfigFile> {
        let file: ConfigFile = toml::from_str(toml)
            .map_err(|e| Error::config_from(format!("the TOML is not valid: {e}"), e))?;
        file.storage.validate()?;
        if let Some(lifecycle) = &file.lifecycle {
            lifecycle.validate()?;
        }
        Ok(file)
    }
}

/// Reads the TOML file at `path` and parses it with `parse`; an error names the file.
fn read_toml_file<T>(path: &Path, parse: impl FnOnce(&str) -> Result<T>) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config_from(format!("cannot read {}: {e}", path.display()), e))?;
    parse(&text).map_err(|e| match e {
        Error::Config { reason, source } => Error::Config {
            reason: format!("{}: {reason}", path.display()),
            source,
        },
        other => other,
    })
}

impl StorageBackendConfig {
    /// Parses a TOML document with a `[storage]` table. Unknown keys are errors, so a typo
    /// never silently falls back to a default.
    pub fn from_toml_str(toml: &str) -> Result<Self> {
        ConfigFile::parse(toml).map(|file| file.storage)
    }

    /// Reads and parses a TOML file.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self> {
        read_toml_file(path.as_ref(), Self::from_toml_str)
    }
}

impl LifecycleConfig {
    /// The `[lifecycle]` table of a TOML document (beside its `[storage]` table), or `None`
    /// when it has none. The whole document is checked: unknown keys anywhere are errors.
    pub fn from_toml_str(toml: &str) -> Result<Option<Self>> {
        ConfigFile::parse(toml).map(|file| file.lifecycle)
    }

    /// Reads the `[lifecycle]` table of a TOML file, as [`from_toml_str`](Self::from_toml_str).
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Option<Self>> {
        read_toml_file(path.as_ref(), Self::from_toml_str)
    }
}
