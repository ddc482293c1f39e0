//! Whether Enedis collects a meter's load curve: the `CCDC` ("collecte de
//! la courbe de charge") service of `POST /subscribed_services/v1`
//! (generation 3).
//!
//! A Linky meter records its load curve only when the customer has switched
//! on the hourly collection ("Collecte de la consommation horaire") in
//! their Enedis account; without it, every curve call answers "no data"
//! while daily energy works. The `serviceType` filter of
//! `subscribed_services` lists `CCDC` among the service types (the
//! published description); asking for it with the consent's
//! `autorisationId` is how the sandbox answers, and no capture of the real
//! gateway's answer to that request exists (an inference).

use crate::client::Client;
use crate::domain::{Generation, UsagePointId};
use crate::error::{Error, ErrorKind};
use crate::wire;

/// The state of a meter's load-curve collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CurveCollection {
    /// An active `CCDC` service: the load curve is collected.
    Collected,
    /// A requested `CCDC` service: the collection starts soon (the curve
    /// appears from the day it starts, not before).
    Requested,
    /// No active or requested `CCDC` service: the customer must switch on
    /// the hourly collection in their Enedis account.
    NotCollected,
}

impl CurveCollection {
    /// What the customer should do, in one sentence (empty when collected).
    pub fn advice(self) -> &'static str {
        match self {
            CurveCollection::Collected => "",
            CurveCollection::Requested => "the collection was asked for: the load curve appears from the day it starts",
            CurveCollection::NotCollected => {
                "the customer must switch on the hourly collection (\"Collecte de la consommation horaire\") in their Enedis account; daily energy and index readings work without it"
            }
        }
    }

    /// `collected`, `requested` or `not-collected`, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            CurveCollection::Collected => "collected",
            CurveCollection::Requested => "requested",
            CurveCollection::NotCollected => "not-collected",
        }
    }
}

impl Client {
    /// Whether the load curve of `prm` is collected, from the `CCDC`
    /// services of the consent `autorisation_id` (generation 3 only).
    pub async fn curve_collection(&self, autorisation_id: &str, prm: &UsagePointId) -> Result<CurveCollection, Error> {
        if self.generation() != Generation::Dc2026 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the curve collection state is read from generation 2026's subscribed_services",
            ));
        }
        let id: i64 = autorisation_id.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            Error::new(ErrorKind::InvalidRequest, "the consent's autorisation_id is not a positive integer")
        })?;
        let call = crate::consent::subscribed_services_call(id, "CCDC");
        let states = self.call(&call, wire::dc2026::decode_service_states).await?;
        let mine = states.iter().filter(|(p, _)| p == prm).map(|(_, s)| s.as_str());
        let mut out = CurveCollection::NotCollected;
        for state in mine {
            match state {
                "ACTIF" => return Ok(CurveCollection::Collected),
                "DEMANDE" => out = CurveCollection::Requested,
                _ => {}
            }
        }
        Ok(out)
    }
}
