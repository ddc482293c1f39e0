//! The Conso API gateway as a source: the client with a personal token
//! against the sandbox's emulated gateway (`/conso/`), over real HTTP. The
//! gateway's readings must be Data Connect's, in both of its type families,
//! and its error bodies must land on the crate's error kinds.

use dataconnect::{AccessToken, Client, DateRange, ErrorKind, Generation, Series};
use jiff::civil::date;

use super::support::{self, client, prm, start};

fn gateway(run: &support::Running, family: Generation, token: &str) -> Client {
    let mut config = support::client_config(run, family);
    config.base_url = run.base.join("conso/").unwrap();
    config.conso_token = Some(AccessToken::new(token));
    Client::new(config).unwrap()
}

#[tokio::test]
async fn both_type_families_serve_what_data_connect_serves() {
    let run = start(support::config()).await;
    let meter = prm("22516914714270");
    let producer = prm("24880057139941");
    let token = "sandbox-conso-22516914714270+24880057139941";
    // Both DST days of 2025 and a plain week.
    let ranges = [
        DateRange::new(date(2025, 3, 28), date(2025, 4, 2)).unwrap(),
        DateRange::new(date(2025, 10, 24), date(2025, 10, 29)).unwrap(),
    ];
    for family in [Generation::Dc2026, Generation::V5] {
        let direct = client(&run, family);
        let via = gateway(&run, family, token);
        for range in ranges {
            for series in Series::ALL {
                let m = if series.direction() == dataconnect::Direction::Consumption { &meter } else { &producer };
                let want = direct.readings(m, series, range).send().await.unwrap().readings;
                let got =
                    via.readings(m, series, range).send().await.unwrap_or_else(|e| panic!("{family} {series}: {e}"));
                assert!(!want.is_empty(), "{family} {series}");
                assert_eq!(got.readings, want, "{family} {series} {range:?}");
            }
        }
        // No token request: the personal token is the bearer.
        assert_eq!(via.stats().token_requests, 0);
    }
}

#[tokio::test]
async fn gateway_errors_say_what_to_do() {
    let run = start(support::config()).await;
    let week = DateRange::new(date(2025, 11, 3), date(2025, 11, 10)).unwrap();
    let meter = prm("22516914714270");
    for family in [Generation::Dc2026, Generation::V5] {
        // A token for another meter: the gateway's 401.
        let other = gateway(&run, family, "sandbox-conso-24880057139941");
        let e = other.window(&meter, Series::ConsumptionDaily, week).send().await.unwrap_err();
        assert_eq!(*e.kind(), ErrorKind::ConsentRequired, "{e}");
        assert_eq!(e.status(), Some(401));
        assert!(e.to_string().contains("does not cover"), "{e}");
        // Not a token at all.
        let junk = gateway(&run, family, "hello");
        let e = junk.window(&meter, Series::ConsumptionDaily, week).send().await.unwrap_err();
        assert_eq!(*e.kind(), ErrorKind::ConsentRequired, "{e}");
        // Refused upstream: Enedis's code inside the gateway's body.
        let unknown = prm("11111111111111");
        let via = gateway(&run, family, "sandbox-conso-11111111111111");
        let e = via.window(&unknown, Series::ConsumptionDaily, week).send().await.unwrap_err();
        assert!(e.needs_consent(), "{e}");
        assert!(e.code().is_some_and(|c| c.contains("ADAM-DC-0008") || c.contains("0008")), "{e:?}");
        // A consumption series of a production-only meter: stop the series.
        let producer = prm("24880057139941");
        let via = gateway(&run, family, "sandbox-conso-24880057139941");
        let e = via.window(&producer, Series::ConsumptionDaily, week).send().await.unwrap_err();
        assert!(e.stops_series(), "{family}: {e}");
        // The gateway serves readings only.
        let e = via.contract(&producer).send().await.unwrap_err();
        assert_eq!(*e.kind(), ErrorKind::Unsupported);
        // The token never shows in an error or in Debug.
        assert!(!format!("{e} {e:?} {:?}", via.config()).contains("sandbox-conso-2488"));
    }
}
