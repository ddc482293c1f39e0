//! Under injected faults (500, 503, held answers, cut bodies) every range
//! still comes back complete and identical to a fault-free run.

use std::time::Duration;

use dataconnect::{Client, DateRange, Generation, Series};
use jiff::civil::date;

use super::support::{self, client_config, prm, start};

async fn fetch_all(c: &Client) -> Vec<Vec<dataconnect::Reading>> {
    let meter = prm("22516914714270");
    let mut out = Vec::new();
    let curve = DateRange::new(date(2025, 9, 1), date(2025, 10, 13)).unwrap();
    let daily = DateRange::new(date(2024, 6, 1), date(2025, 11, 1)).unwrap();
    out.push(c.readings(&meter, Series::ConsumptionCurve, curve).send().await.unwrap().readings);
    out.push(c.readings(&meter, Series::ConsumptionDaily, daily).send().await.unwrap().readings);
    out.push(c.readings(&meter, Series::ConsumptionMaxPower, daily).send().await.unwrap().readings);
    out.push(vec![]);
    let k = c.contract(&meter).send().await.unwrap();
    assert_eq!(k.segment.as_deref(), Some("C5"));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_and_identical_under_a_fault_rate_of_0_3() {
    for generation in [Generation::V5, Generation::Dc2026] {
        let clean_run = start(support::config()).await;
        let clean = fetch_all(&Client::new(client_config(&clean_run, generation)).unwrap()).await;

        let mut cfg = support::config();
        cfg.fault_rate = 0.3;
        cfg.seed = 42;
        cfg.fault_delay = Duration::from_millis(1500);
        let run = start(cfg).await;
        let mut cc = client_config(&run, generation);
        // Shorter than the held answers, so that those time out.
        cc.timeout = Duration::from_secs(1);
        cc.max_attempts = 10;
        let c = Client::new(cc).unwrap();
        let faulty = fetch_all(&c).await;
        assert_eq!(clean, faulty, "{generation}");
        let s = c.stats();
        assert!(s.retries > 0, "{generation}: no fault was injected? {s:?}");
        eprintln!("{generation} with fault rate 0.3: {s:?}");
    }
}
