//! Where a configuration comes from: a file (optional) and the command line's overrides,
//! kept with the validated [`Config`] so that a reload reads it again the same way. The CLI
//! turns its flags into an [`Overrides`]; nothing below the CLI knows about flags.

use super::raw::RawConfig;
use super::{load_raw, Config, ConfigError};
use std::path::PathBuf;

/// Values written over the file's, each for one key (named in brackets).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Overrides {
    /// [listen.address]
    pub listen: Option<String>,
    /// [upstream.url]
    pub upstream: Option<String>,
    /// [upstream.ca_file]
    pub upstream_ca: Option<PathBuf>,
    /// [upstream.insecure] = true when set.
    pub upstream_insecure: bool,
    /// [listen.tls_cert] and [listen.tls_key], together.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// [admin.listen]
    pub admin_listen: Option<String>,
    /// [audit.path]
    pub audit_log: Option<String>,
    /// [log.format] = "json" when set.
    pub log_json: bool,
    /// [workers]
    pub workers: Option<usize>,
    /// [threading]
    pub threading: Option<String>,
}

impl Overrides {
    /// Writes every given override over `raw`.
    pub fn apply(&self, raw: &mut RawConfig) {
        let set = |slot: &mut Option<String>, v: &Option<String>| {
            if v.is_some() {
                slot.clone_from(v);
            }
        };
        set(&mut raw.listen.address, &self.listen);
        if self.upstream.is_some() {
            // `--upstream` names the one node to use: it replaces a file's node list.
            raw.upstream.nodes = None;
            raw.upstream.node_map = None;
        }
        set(&mut raw.upstream.url, &self.upstream);
        set(&mut raw.admin.listen, &self.admin_listen);
        set(&mut raw.audit.path, &self.audit_log);
        if self.upstream_ca.is_some() {
            raw.upstream.ca_file.clone_from(&self.upstream_ca);
        }
        if self.upstream_insecure {
            raw.upstream.insecure = Some(true);
        }
        if let Some((cert, key)) = &self.tls {
            raw.listen.tls_cert = Some(cert.clone());
            raw.listen.tls_key = Some(key.clone());
        }
        if self.log_json {
            raw.log.format = Some("json".into());
        }
        if self.workers.is_some() {
            raw.workers = self.workers;
        }
        set(&mut raw.threading, &self.threading);
    }
}

/// A configuration's origin: the file (if any) and the overrides on top.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Source {
    pub file: Option<PathBuf>,
    pub overrides: Overrides,
}

impl Source {
    /// The raw configuration: the file (if any) with every override written over it.
    pub fn raw(&self) -> Result<RawConfig, ConfigError> {
        let mut raw = match &self.file {
            Some(path) => load_raw(path)?,
            None if self.overrides.upstream.is_none() => {
                return Err(ConfigError::new(
                    "--config",
                    "nothing to proxy: pass --config FILE, or at least --upstream https://CLUSTER:9443 (try `deprecation-shim demo` to see it work without a cluster)",
                ))
            }
            None => RawConfig::default(),
        };
        self.overrides.apply(&mut raw);
        Ok(raw)
    }

    /// Reads and validates; the result remembers this source (for reload).
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut cfg = Config::from_raw(self.raw()?)?;
        cfg.source = Some(self.clone());
        Ok(cfg)
    }
}
