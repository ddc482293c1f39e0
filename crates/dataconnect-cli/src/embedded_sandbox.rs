//! The sandbox embedded in the binary, for `demo` and the hidden `bench`:
//! started in-process on a free port of 127.0.0.1, stopped when dropped,
//! and the settings of a client of its registered application. Only these
//! two commands (and `sandbox`) use the emulator; nothing of the production
//! path does.

use dataconnect_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URI, Sandbox, SandboxConfig};
use url::Url;

use crate::error::{Class, CliError};
use crate::settings::{ClientSettings, Secret};

/// The in-process sandbox, stopped when dropped.
pub struct Embedded {
    pub base_url: Url,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts the sandbox on a free port of 127.0.0.1.
pub async fn start_sandbox(config: SandboxConfig) -> Result<Embedded, CliError> {
    let sandbox =
        Sandbox::new(config).map_err(|e| CliError::internal(format!("cannot start the embedded sandbox: {e}")))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
        CliError::new(Class::Network, format!("cannot open a local port for the embedded sandbox: {e}"))
    })?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(dataconnect_sandbox::serve(listener, sandbox, async move {
        let _ = stopped.await;
    }));
    let base_url = Url::parse(&format!("http://{addr}"))
        .map_err(|e| CliError::internal(format!("bad sandbox address {addr}: {e}")))?;
    Ok(Embedded { base_url, stop: Some(stop) })
}

/// Settings of a client of the embedded sandbox.
pub fn sandbox_client_settings(
    base_url: Url,
    generation: dataconnect::Generation,
    today: Option<jiff::civil::Date>,
    per_second: u32,
) -> Result<ClientSettings, CliError> {
    Ok(ClientSettings {
        base_url,
        generation,
        client_id: DEFAULT_CLIENT_ID.to_owned(),
        client_secret: Secret::new(DEFAULT_CLIENT_SECRET),
        redirect_uri: Some(Url::parse(DEFAULT_REDIRECT_URI).map_err(|e| CliError::internal(e.to_string()))?),
        today,
        quota_per_second: per_second,
        quota_per_hour: 10_000,
        conso_token: None,
    })
}
