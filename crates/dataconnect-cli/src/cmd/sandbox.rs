//! `dataconnect sandbox`: the offline Data Connect emulator as a server. A
//! thin wrapper: the arguments and the server belong to `dataconnect-sandbox`.

use clap::Args;

use crate::error::{Class, CliError};

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    args: dataconnect_sandbox::cli::SandboxArgs,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        dataconnect_sandbox::cli::run(self.args).await.map_err(|e| {
            CliError::new(Class::Network, format!("the sandbox stopped: {e}: is the --listen address free?"))
        })
    }
}
