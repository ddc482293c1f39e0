//! The `dataconnect` binary with a clean environment, shared by the `it`
//! and `scale` test binaries (the latter includes this file by path).

use std::path::Path;
use std::process::Command;

/// The binary with no DATACONNECT_ variable and a home inside `dir`.
pub fn bare(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dataconnect"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DATACONNECT_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", dir).env("XDG_CONFIG_HOME", dir.join("xdg-config")).env("XDG_DATA_HOME", dir.join("xdg-data"));
    cmd.current_dir(dir);
    cmd
}
