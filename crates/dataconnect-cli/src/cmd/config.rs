//! `dataconnect config`: writes a commented TOML template of every setting
//! the settings module reads (`config init`), and says where the config
//! file is looked for (`config path`).
//!
//! The template documents each key of `settings::FileConfig` with its
//! environment variable, its flag and its default, all commented out, so
//! that a fresh file changes nothing until the user uncomments a line. A
//! unit test uncomments every line and parses the result with the settings
//! module's own type, so the template cannot drift from what is read.
//! The file may come to hold the client secret, so it is created readable
//! by its owner only, and never overwritten without `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::error::{Class, CliError};
use crate::settings::default_config_path;

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Write a commented template of every setting to the config file.
    Init(InitArgs),
    /// Print the path of the config file read when --config is not given.
    Path,
}

#[derive(Args, Debug)]
struct InitArgs {
    /// Write here instead of config.toml in the user's config directory.
    #[arg(long, value_name = "FILE")]
    path: Option<PathBuf>,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
}

/// The template `config init` writes. Every key is one the settings module
/// reads (`settings::FileConfig`); the unit test below keeps it so.
pub const TEMPLATE: &str = r#"# dataconnect configuration.
#
# Settings are taken from, in order of precedence: command-line flags, then
# environment variables (DATACONNECT_...), then this file. Every key below is
# optional and commented out: uncomment a line to use it. Another file can be
# named with --config PATH or DATACONNECT_CONFIG.
#
# This file may hold the client secret: keep it readable by you only
# (dataconnect creates it with mode 0600).

# The Data Connect base URL. For the offline sandbox started with
# `dataconnect sandbox`, use http://127.0.0.1:8080. Enedis' production gateway
# is https://gw.ext.prod.api.enedis.fr and its sandbox
# https://gw.ext.prod-sandbox.api.enedis.fr.
# Flag --base-url, environment DATACONNECT_BASE_URL. No default.
# base_url = "http://127.0.0.1:8080"

# The API generation: "2026" (Data Connect 2026, what Enedis serves today),
# "v5" (announced to be switched off in October 2026) or "legacy" (the
# original v3/v4 API with per-customer tokens).
# Flag --generation, environment DATACONNECT_GENERATION. Default: "2026".
# generation = "2026"

# The application's client id, from Enedis DataHub. The offline sandbox's
# default is "dataconnect-sandbox-client".
# Flag --client-id, environment DATACONNECT_CLIENT_ID. No default.
# client_id = "dataconnect-sandbox-client"

# The application's client secret. It is never taken from a flag (flags show
# in the process list and the shell history). Give it here, in the
# environment variable DATACONNECT_CLIENT_SECRET (which wins over this file),
# or in a file named by client_secret_file. The offline sandbox's default is
# "dataconnect-sandbox-secret".
# client_secret = "dataconnect-sandbox-secret"

# A file holding the client secret (its first line, surrounding blanks
# removed). Used when DATACONNECT_CLIENT_SECRET is not set; wins over
# client_secret above.
# Flag --client-secret-file, environment DATACONNECT_CLIENT_SECRET_FILE.
# client_secret_file = "/etc/dataconnect/client-secret"

# The redirect URI registered for the application in DataHub: the customer's
# browser comes back there after consent. The offline sandbox's default is
# http://127.0.0.1:8081/callback.
# Flag --redirect-uri, environment DATACONNECT_REDIRECT_URI. No default.
# redirect_uri = "http://127.0.0.1:8081/callback"

# The SQLite database where readings, consents and sync records are kept.
# Flag --db, environment DATACONNECT_DB.
# Default: dataconnect.db in the user's data directory.
# db = "/var/lib/dataconnect/dataconnect.db"

# The day taken as today (Paris), YYYY-MM-DD, to replay a past period
# against a sandbox started with the same --today. Leave unset in production.
# Flag --today, environment DATACONNECT_TODAY. Default: today in Paris.
# today = "2025-06-30"

# Days fetched again on every sync even when already stored, because Enedis
# corrects recent data. File only. Default: 7.
# revision_days = 7

# The application's quota, shared by every user of the application: calls per
# second (Enedis allows 5) and per hour (documented as 10,000 per hour, or
# 1000 per hour per API in 2026; the lower figure is the safe default).
# File only. Defaults: 5 and 1000 (1 and 300 with source = "conso-api").
# quota_per_second = 5
# quota_per_hour = 1000

# Where readings come from: "dataconnect" (Enedis Data Connect, with the
# application's credentials above) or "conso-api" (the Conso API gateway,
# with a personal token; base_url then defaults to its public service).
# Flag --source, environment DATACONNECT_SOURCE. Default: "dataconnect".
# source = "dataconnect"

# A file holding the Conso API token (its first line, surrounding blanks
# removed), used when DATACONNECT_CONSO_TOKEN is not set. The token itself is
# never taken from a flag nor written here.
# Flag --token-file, environment DATACONNECT_CONSO_TOKEN_FILE.
# conso_token_file = "/etc/dataconnect/conso-token"
"#;

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        match self.action {
            Action::Init(args) => {
                let path = match args.path {
                    Some(p) => p,
                    None => default_config_path()
                        .ok_or_else(|| CliError::config("cannot find the user's config directory: pass --path FILE"))?,
                };
                write_template(&path, args.force)?;
                println!("{}", path.display());
                eprintln!("wrote a commented template: uncomment the settings you need");
                Ok(())
            }
            Action::Path => {
                let path = default_config_path().ok_or_else(|| {
                    CliError::config("cannot find the user's config directory: pass --config FILE to commands")
                })?;
                println!("{}", path.display());
                Ok(())
            }
        }
    }
}

/// Writes [`TEMPLATE`] to `path` (mode 0600), refusing to replace a file
/// unless `force`. A forced write goes through a temporary file and a
/// rename, so the old file is never left half-written.
fn write_template(path: &Path, force: bool) -> Result<(), CliError> {
    let io_err = |what: &str, e: std::io::Error| {
        CliError::config(format!("cannot {what} {}: {e}: pass --path FILE somewhere writable", path.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::create_dir_all(dir).map_err(|e| io_err("create the directory of", e))?;
    }
    if path.exists() && !force {
        return Err(CliError::new(
            Class::Config,
            format!("{} already exists: edit it, or pass --force to replace it with a fresh template", path.display()),
        ));
    }
    let target = if force {
        let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".tmp");
        path.with_file_name(name)
    } else {
        path.to_path_buf()
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        // create_new also closes the race with another writer between the
        // existence check above and here.
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&target).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => CliError::new(
            Class::Config,
            format!("{} already exists: edit it, or pass --force to replace it", path.display()),
        ),
        _ => io_err("write", e),
    })?;
    file.write_all(TEMPLATE.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| io_err("write", e))?;
    drop(file);
    if force {
        std::fs::rename(&target, path).map_err(|e| io_err("replace", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::FileConfig;

    /// The template with every `# key = value` line uncommented.
    fn uncommented() -> String {
        TEMPLATE
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest
                        .split_once(" = ")
                        .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_')) =>
                {
                    rest
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_template_parses_as_is_and_every_key_is_one_the_settings_read() {
        let empty: FileConfig = toml::from_str(TEMPLATE).unwrap();
        assert!(empty.base_url.is_none() && empty.quota_per_hour.is_none());
        // FileConfig denies unknown fields, so a misspelt key fails here.
        let full: FileConfig = toml::from_str(&uncommented()).unwrap();
        assert_eq!(full.base_url.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(full.generation.as_deref(), Some("2026"));
        assert!(full.client_id.is_some() && full.client_secret.is_some() && full.client_secret_file.is_some());
        assert!(full.redirect_uri.is_some() && full.db.is_some() && full.today.is_some());
        assert_eq!((full.revision_days, full.quota_per_second, full.quota_per_hour), (Some(7), Some(5), Some(1000)));
    }

    #[test]
    fn init_refuses_to_overwrite_without_force_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.toml");
        write_template(&path, false).unwrap();
        std::fs::write(&path, "db = \"mine.db\"\n").unwrap();
        let err = write_template(&path, false).unwrap_err();
        assert_eq!(err.class(), Class::Config);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "db = \"mine.db\"\n");
        write_template(&path, true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), TEMPLATE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
