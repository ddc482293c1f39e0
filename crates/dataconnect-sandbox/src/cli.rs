//! The `dataconnect sandbox` command's arguments and entry point, kept in
//! this crate so that the CLI's subcommand is a thin wrapper.
//!
//! SCAFFOLD: the "platform" engineer completes it.

/// Arguments of `dataconnect sandbox`.
#[derive(Clone, Debug, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

/// Runs the sandbox until Ctrl-C.
pub async fn run(_args: SandboxArgs) -> std::io::Result<()> {
    Ok(())
}
