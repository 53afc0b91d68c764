//! Logging set-up: human-readable or JSON lines on stderr, `RUST_LOG` honoured (default `info`).
//! Access records use the `access` target and deprecation warnings the `deprecation` target, so
//! each can be filtered or routed on its own (`RUST_LOG=info,access=off`).

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
