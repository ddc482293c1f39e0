//! A meter's contract, read once before its first data call: `costs` takes
//! its off-peak hours from it and the planner its activation day.

use dataconnect::UsagePointId;
use dataconnect_store::Store;
use jiff::Timestamp;

use crate::error::{CliError, from_client};

/// Reads and stores the contract of each of `meters` that has none stored
/// yet, once per meter: `costs` takes its off-peak hours from it and the
/// planner its activation day (no call for days before it). A contract the
/// API refuses for good is recorded as missing, so that it is not asked
/// again at every run; one refused for a while (network, 5xx after the
/// client's retries, quota) is asked again next run; a lost consent is left
/// to the data calls, which mark the meter. None of these stops the sync.
/// `note` gets the warnings and the summary line. Returns how many
/// contracts were stored.
pub async fn fetch_missing_contracts(
    store: &dyn Store,
    client: &dataconnect::Client,
    meters: &[UsagePointId],
    note: &(dyn Fn(&str) + Sync),
) -> Result<usize, CliError> {
    let mut stored = 0;
    for prm in meters {
        if store.meter_info(prm)?.is_some() {
            continue;
        }
        match client.contract(prm).send().await {
            Ok(contract) => {
                let (json, activation) = contract_record(&contract);
                store.put_meter_info(&dataconnect_store::MeterInfo {
                    usage_point_id: prm.clone(),
                    contract_json: Some(json),
                    address_json: None,
                    activation,
                    updated_at: Timestamp::now(),
                })?;
                stored += 1;
            }
            Err(e) if e.needs_consent() => {}
            Err(e) if e.is_retryable() => {
                note(&format!(
                    "warning: meter {prm}: contract not read this time ({}); the next sync asks again",
                    from_client(&e).line()
                ));
            }
            Err(e) => {
                note(&format!(
                    "warning: meter {prm}: the API gives no contract ({}); syncing without it (`costs` then needs --offpeak)",
                    from_client(&e).line()
                ));
                store.put_meter_info(&dataconnect_store::MeterInfo {
                    usage_point_id: prm.clone(),
                    contract_json: None,
                    address_json: None,
                    activation: None,
                    updated_at: Timestamp::now(),
                })?;
            }
        }
    }
    if stored > 0 {
        note(&format!("contracts: read and stored for {stored} meter(s)"));
    }
    Ok(stored)
}

/// What the store keeps of a contract (JSON text, read back by `costs`),
/// and the meter's activation day (consumption's, else production's).
pub fn contract_record(contract: &dataconnect::Contract) -> (String, Option<jiff::civil::Date>) {
    let json = serde_json::json!({
        "segment": contract.segment,
        "subscribed_power_kva": contract.subscribed_power_kva,
        "activation_date": contract.activation_date.map(|d| d.to_string()),
        "production_activation_date": contract.production_activation_date.map(|d| d.to_string()),
        "tariff": contract.tariff,
        "offpeak_hours": contract.offpeak_hours_raw,
        "contract_type": contract.contract_type,
        "meter_type": contract.meter_type,
        "status": contract.status,
    });
    (json.to_string(), contract.activation_date.or(contract.production_activation_date))
}
