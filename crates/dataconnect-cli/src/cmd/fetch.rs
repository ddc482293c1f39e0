//! `dataconnect fetch`: one series straight from the API to standard output,
//! without the store, through the same client, windows, retries and quota
//! as `sync`. Useful in scripts and to check what the API says.

use clap::Args;

use crate::error::{CliError, from_client};
use crate::output::{Format, ReadingWriter, Tz};
use crate::settings::{GlobalArgs, Settings};

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(flatten)]
    what: crate::store::OneSeriesArgs,
    /// table, csv, json or jsonl.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Time zone of the printed instants.
    #[arg(long, value_enum, default_value = "Europe/Paris")]
    tz: Tz,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        let (prm, series, from, to) = self.what.parse()?;
        let range = crate::store::api_range(from, to, settings.today())?;
        let client = crate::source::client(&settings.client()?, &settings.db)?;
        let fetched = client.readings(&prm, series, range).send().await.map_err(|e| from_client(&e))?;
        if let Some(why) = &fetched.clamped {
            eprintln!("note: {why}");
        }
        let stdout = std::io::stdout().lock();
        let mut writer = ReadingWriter::new(std::io::BufWriter::new(stdout), self.format, self.tz)?;
        for r in &fetched.readings {
            if let Err(e) = writer.write(&prm, series, r) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(());
                }
                return Err(e.into());
            }
        }
        writer.finish()?;
        Ok(())
    }
}
