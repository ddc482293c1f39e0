//! Fuzzes the consent redirect: the query string a browser brings back to
//! the redirect URI, read by `Client::complete_consent` for each
//! generation. The security property checked: a consent is never accepted
//! unless the redirect carries exactly the expected `state`.
//!
//! The client points at a closed local port with one attempt, so the
//! inputs that get as far as a token exchange or `subscribed_services`
//! fail at once with a transport error instead of touching any host.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use dataconnect::{Client, ClientConfig, ClientSecret, Generation, QuotaConfig};
use libfuzzer_sys::fuzz_target;

const EXPECTED_STATE: &str = "Zm9vYmFyYmF6cXV4cXV1eHF1dXg7";

struct World {
    rt: tokio::runtime::Runtime,
    clients: Vec<Client>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("harness runtime: {e}"));
        let clients = Generation::ALL
            .iter()
            .map(|g| {
                let base = "http://127.0.0.1:1/".parse().unwrap_or_else(|e| panic!("harness URL: {e}"));
                let mut c = ClientConfig::new(base, *g, "fuzz-client", ClientSecret::new("fuzz-secret"));
                c.redirect_uri = "http://127.0.0.1:8081/callback".parse().ok();
                c.max_attempts = 1;
                c.timeout = Duration::from_millis(200);
                c.quota = QuotaConfig { per_second: u32::MAX, per_hour: u32::MAX };
                c.today = Some(jiff::civil::date(2025, 1, 15));
                let _guard = rt.enter();
                Client::new(c).unwrap_or_else(|e| panic!("harness client: {e}"))
            })
            .collect();
        World { rt, clients }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&g, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let w = world();
    let client = &w.clients[usize::from(g) % w.clients.len()];
    // Half the inputs are a query on the registered redirect URI, the other
    // half a whole URL, so that both the query and the URL parser are hit.
    let raw = if g & 0x80 == 0 { format!("http://127.0.0.1:8081/callback?{text}") } else { text.to_owned() };
    let Ok(url) = url::Url::parse(&raw) else { return };
    let result = w.rt.block_on(client.complete_consent(&url, EXPECTED_STATE));
    if let Ok(consent) = result {
        let states: Vec<_> = url.query_pairs().filter(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).collect();
        assert_eq!(states.first().map(String::as_str), Some(EXPECTED_STATE), "consent accepted with state {states:?}");
        assert!(!consent.usage_points.is_empty(), "consent accepted without a usage point");
    }
});
