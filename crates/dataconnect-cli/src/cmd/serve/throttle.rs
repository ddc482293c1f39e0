//! Counters per client address, kept in memory, that cap what an
//! unauthenticated visitor can make the server do: how many consent
//! requests (pending states) an address may open in half an hour, and how
//! many wrong API keys it may try in a minute.
//!
//! IPv6 addresses are counted by /64 (one customer's network gets a whole
//! /64, and could otherwise rotate through it). Behind a reverse proxy
//! every visitor has the proxy's address, so the proxy's own addresses are
//! given with `--trusted-proxy`: for their requests the visitor is the
//! last address of `X-Forwarded-For` that is not a trusted proxy (the
//! entries before it are the visitor's to write, so they are not
//! believed). The table of addresses is
//! itself bounded: expired entries are swept when it grows, and when it is
//! still full the address is refused (the global cap on pending states
//! protects the store either way).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most addresses followed at once.
const MAX_ADDRESSES: usize = 100_000;

/// At most `limit` events per address within `window`.
pub struct Throttle {
    limit: usize,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Throttle {
    pub fn new(limit: usize, window: Duration) -> Throttle {
        Throttle { limit, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts one event of `addr` at `now`, if the address is under its
    /// limit; otherwise returns how long until it may try again.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = bucket(addr);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.window;
        if seen.len() >= MAX_ADDRESSES && !seen.contains_key(&key) {
            seen.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < window));
            if seen.len() >= MAX_ADDRESSES {
                return Err(window);
            }
        }
        let times = seen.entry(key).or_default();
        while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
            times.pop_front();
        }
        if times.len() >= self.limit {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.duration_since(oldest)).max(Duration::from_secs(1)));
        }
        times.push_back(now);
        Ok(())
    }

    /// True when `addr` is at its limit now (without counting an event).
    pub fn exhausted(&self, addr: IpAddr, now: Instant) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&bucket(addr))
            .is_some_and(|times| times.iter().filter(|t| now.duration_since(**t) < self.window).count() >= self.limit)
    }
}

/// The visitor's address: the peer, or, when the peer is one of
/// `trusted` (a reverse proxy), the last address of `X-Forwarded-For` that
/// is not a trusted proxy. `None` when the peer is unknown.
pub fn client_address(
    extensions: &axum::http::Extensions,
    headers: &axum::http::HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for entry in forwarded.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            // Something the proxy did not write: count the proxy itself.
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}

/// The unit an address is counted in: itself for IPv4, its /64 for IPv6
/// (an IPv4-mapped IPv6 address counts as the IPv4 one).
fn bucket(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_limit_per_window_then_waits() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let now = Instant::now();
        for _ in 0..3 {
            assert!(t.check(a, now).is_ok());
        }
        let wait = t.check(a, now).unwrap_err();
        assert!(wait <= Duration::from_secs(60) && wait >= Duration::from_secs(1));
        assert!(t.exhausted(a, now));
        assert!(t.check(b, now).is_ok(), "another address has its own count");
        assert!(t.check(a, now + Duration::from_secs(61)).is_ok(), "the window moved on");
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_a_trusted_proxy() {
        let mut extensions = axum::http::Extensions::new();
        extensions.insert(axum::extract::ConnectInfo("10.0.0.2:5555".parse::<std::net::SocketAddr>().unwrap()));
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.0.0.3".parse().unwrap());
        let proxies: Vec<IpAddr> = vec!["10.0.0.2".parse().unwrap(), "10.0.0.3".parse().unwrap()];
        assert_eq!(client_address(&extensions, &headers, &proxies), Some("198.51.100.7".parse().unwrap()));
        assert_eq!(
            client_address(&extensions, &headers, &[]),
            Some("10.0.0.2".parse().unwrap()),
            "an untrusted peer is itself"
        );
        headers.insert("x-forwarded-for", "junk".parse().unwrap());
        assert_eq!(client_address(&extensions, &headers, &proxies), Some("10.0.0.2".parse().unwrap()));
        assert_eq!(client_address(&axum::http::Extensions::new(), &headers, &proxies), None);
    }

    #[test]
    fn an_ipv6_network_counts_as_one() {
        let t = Throttle::new(1, Duration::from_secs(60));
        let now = Instant::now();
        assert!(t.check("2001:db8::1".parse().unwrap(), now).is_ok());
        assert!(t.check("2001:db8::2".parse().unwrap(), now).is_err());
        assert!(t.check("2001:db8:0:1::1".parse().unwrap(), now).is_ok());
    }
}
