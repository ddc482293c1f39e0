//! The customer-data builders: contract, address, identity, contact.
//!
//! Generations 1 and 2 have one API per item (`/v3/customers/…`,
//! `customers_*/v5/…`, the PRM in the query). Generation 3 spreads them
//! over the ITC APIs (the PRM in the path): the contract comes from
//! `situation_contrat_auto` plus `synth_contrat_auto` (activation date) and
//! `comptage_auto` (off-peak hours); identity and contact from
//! `situation_contrat_auto`; the address from `donnees_generales_auto`.

use super::super::client::{Auth, Call, Client, api_of};
use crate::domain::{Address, Contact, Contract, Generation, Identity, UsagePointId};
use crate::error::{Error, ErrorKind};
use crate::wire;

fn v5_or_legacy_call(client: &Client, prm: &UsagePointId, v5_path: &str, v3_path: &str) -> Call {
    let generation = client.generation();
    let (path, auth) = match generation {
        Generation::Legacy => (v3_path, Auth::Customer(prm.clone())),
        _ => (v5_path, Auth::App),
    };
    let mut call = Call::get(path, api_of(generation, path), auth);
    call.query = vec![("usage_point_id", prm.to_string())];
    call
}

fn itc_call(prm: &UsagePointId, api: &str) -> Call {
    let path = format!("{api}/v1/{prm}");
    let quota = api_of(Generation::Dc2026, &path);
    Call::get(path, quota, Auth::App)
}

/// The secondary 2026 calls may be refused without losing the contract:
/// `comptage_auto` in particular was not subscribable at first (403
/// 900908), and a PRM may have no synthesis.
fn optional<T>(r: Result<T, Error>) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::NotSubscribed
                    | ErrorKind::NoData
                    | ErrorKind::UnknownUsagePoint
                    | ErrorKind::Forbidden
                    | ErrorKind::Api
            ) =>
        {
            tracing::debug!(error = %e, "optional contract detail unavailable");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

async fn situation(client: &Client, prm: &UsagePointId) -> Result<wire::dc2026::Situation, Error> {
    client.call(&itc_call(prm, "situation_contrat_auto"), wire::dc2026::decode_situation).await
}

/// The meter's contract (see [`Client::contract`]).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `.send().await`"]
pub struct ContractRequest {
    client: Client,
    prm: UsagePointId,
}

impl ContractRequest {
    pub(crate) fn new(client: Client, prm: UsagePointId) -> Self {
        ContractRequest { client, prm }
    }

    /// Fetches the contract. For a generation 3 self-consumption meter,
    /// which has a consumption (`C5`) and a production (`P4`) contract,
    /// this is the consumption one; [`send_all`](Self::send_all) gives both.
    pub async fn send(self) -> Result<Contract, Error> {
        let all = self.send_all().await?;
        let pick = all
            .iter()
            .position(|c| c.subscribed_power_kva.is_some() || c.segment.as_deref().is_some_and(|s| s.starts_with('C')))
            .unwrap_or(0);
        all.into_iter().nth(pick).ok_or_else(|| Error::new(ErrorKind::NoData, "the API returned no contract"))
    }

    /// Fetches every contract of the meter (one for generations 1 and 2).
    pub async fn send_all(self) -> Result<Vec<Contract>, Error> {
        let c = &self.client;
        let prm = &self.prm;
        match c.generation() {
            Generation::Legacy | Generation::V5 => {
                let call = v5_or_legacy_call(
                    c,
                    prm,
                    "customers_upc/v5/usage_points/contracts",
                    "v3/customers/usage_points/contracts",
                );
                let contract = c.call(&call, |b| wire::customers::decode_contract(b, prm)).await?;
                Ok(vec![contract])
            }
            Generation::Dc2026 => {
                let sit = situation(c, prm).await?;
                let synth =
                    optional(c.call(&itc_call(prm, "synth_contrat_auto"), wire::dc2026::decode_synthesis).await)?;
                let comptage = optional(c.call(&itc_call(prm, "comptage_auto"), wire::dc2026::decode_comptage).await)?;
                let mut contracts = sit.contracts;
                if contracts.is_empty() {
                    contracts.push(Contract::default());
                }
                for k in &mut contracts {
                    if k.usage_point_id.is_none() {
                        k.usage_point_id = Some(prm.clone());
                    }
                    let production = k.segment.as_deref().is_some_and(|s| s.starts_with('P'));
                    if let Some(s) = &synth {
                        k.activation_date = if production {
                            s.production_activation.or(s.consumption_activation)
                        } else {
                            s.consumption_activation
                        };
                        k.production_activation_date = s.production_activation;
                        k.usage_point_status = s.services_level.clone();
                        if k.segment.is_none() {
                            k.segment = s.segments.first().cloned();
                        }
                    }
                    if let Some(m) = &comptage {
                        k.meter_type = m.meter_type.clone();
                        k.offpeak_hours = m.offpeak.clone();
                        k.offpeak_hours_raw = m.offpeak_raw.clone();
                    }
                }
                Ok(contracts)
            }
        }
    }
}

/// The meter's installation address (see [`Client::address`]).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `.send().await`"]
pub struct AddressRequest {
    client: Client,
    prm: UsagePointId,
}

impl AddressRequest {
    pub(crate) fn new(client: Client, prm: UsagePointId) -> Self {
        AddressRequest { client, prm }
    }

    /// Fetches the address.
    pub async fn send(self) -> Result<Address, Error> {
        let c = &self.client;
        let prm = &self.prm;
        match c.generation() {
            Generation::Legacy | Generation::V5 => {
                let call = v5_or_legacy_call(
                    c,
                    prm,
                    "customers_upa/v5/usage_points/addresses",
                    "v3/customers/usage_points/addresses",
                );
                c.call(&call, |b| wire::customers::decode_address(b, prm)).await
            }
            Generation::Dc2026 => {
                c.call(&itc_call(prm, "donnees_generales_auto"), |b| wire::dc2026::decode_general_data(b, prm)).await
            }
        }
    }
}

/// The contract holder's identity (see [`Client::identity`]).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `.send().await`"]
pub struct IdentityRequest {
    client: Client,
    prm: UsagePointId,
}

impl IdentityRequest {
    pub(crate) fn new(client: Client, prm: UsagePointId) -> Self {
        IdentityRequest { client, prm }
    }

    /// Fetches the identity.
    pub async fn send(self) -> Result<Identity, Error> {
        let c = &self.client;
        match c.generation() {
            Generation::Legacy | Generation::V5 => {
                let call = v5_or_legacy_call(c, &self.prm, "customers_i/v5/identity", "v3/customers/identity");
                c.call(&call, wire::customers::decode_identity).await
            }
            Generation::Dc2026 => Ok(situation(c, &self.prm).await?.identity),
        }
    }
}

/// The contract holder's contact details (see [`Client::contact`]).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `.send().await`"]
pub struct ContactRequest {
    client: Client,
    prm: UsagePointId,
}

impl ContactRequest {
    pub(crate) fn new(client: Client, prm: UsagePointId) -> Self {
        ContactRequest { client, prm }
    }

    /// Fetches the contact details.
    pub async fn send(self) -> Result<Contact, Error> {
        let c = &self.client;
        match c.generation() {
            Generation::Legacy | Generation::V5 => {
                let call = v5_or_legacy_call(c, &self.prm, "customers_cd/v5/contact_data", "v3/customers/contact_data");
                c.call(&call, wire::customers::decode_contact).await
            }
            Generation::Dc2026 => Ok(situation(c, &self.prm).await?.contact),
        }
    }
}
