//! Fuzzes the CLI's config file: the TOML text is written to a file and
//! read by the CLI's own `Settings::resolve` (deserialisation into
//! `FileConfig`, then every conversion: generation, `--today`, quotas) and
//! `Settings::client` (URLs). The CLI is a binary crate, so its
//! `settings.rs` is compiled here in place, next to a stand-in for the one
//! type it borrows from `error.rs`; nothing in the CLI was changed for this.
#![no_main]

use std::io::Write as _;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/dataconnect-cli/src/settings.rs"]
#[allow(dead_code, clippy::all)]
mod settings;

/// Stand-in for the CLI's `error` module: the constructors `settings.rs`
/// calls, keeping the message so that the harness can look at it.
mod error {
    #[derive(Debug)]
    pub struct CliError(pub String);
    impl CliError {
        pub fn usage(m: impl Into<String>) -> Self {
            CliError(m.into())
        }
        pub fn config(m: impl Into<String>) -> Self {
            CliError(m.into())
        }
    }
}

const SECRET: &str = "fuzz-secret-in-config";

fn path() -> &'static std::path::Path {
    static P: OnceLock<std::path::PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        // The client secret must come from the file, not the environment,
        // for the leak oracle below to mean something.
        let dir = std::env::temp_dir().join(format!("dataconnect-fuzz-config-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir.join("config.toml")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let p = path();
    let Ok(mut f) = std::fs::File::create(p) else { return };
    if f.write_all(text.as_bytes()).is_err() {
        return;
    }
    drop(f);
    let args = settings::GlobalArgs { config: Some(p.to_path_buf()), db: Some("/nonexistent/db".into()), ..Default::default() };
    match settings::Settings::resolve(&args) {
        Ok(s) => {
            let _ = s.today();
            if let Err(e) = s.client() {
                let _ = e.0;
            }
            // The secret never shows in the settings' Debug.
            let shown = format!("{s:?}");
            assert!(!shown.contains(SECRET), "client secret in Settings Debug: {shown}");
        }
        Err(e) => {
            // A config error may quote the file's text, never its secret.
            assert!(!e.0.contains(SECRET), "client secret in a config error: {}", e.0);
        }
    }
});
