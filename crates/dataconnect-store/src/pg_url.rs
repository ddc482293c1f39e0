//! PostgreSQL URLs: telling one from a file path, and showing one without
//! its password. Both are needed whether or not the `postgres` feature is
//! built (a CLI built without it must still recognise the URL to say so),
//! so they live outside the backend.

/// True for the URLs the PostgreSQL backend takes: `postgres://…` or
/// `postgresql://…`, the scheme in any case (URL schemes are
/// case-insensitive, RFC 3986 section 3.1).
pub fn is_postgres_url(s: &str) -> bool {
    let lower = s.get(..13).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` with its password, if any, replaced by `[redacted]`, for messages
/// and logs: the one in the user information (`user:PASSWORD@host`) and a
/// `password=` query parameter. Text without `://` is not a URL this
/// function can vouch for, and is replaced as a whole.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "[redacted]".to_owned() };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:[redacted]@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{}", redact_query_password(tail))
}

/// The path and query `tail` with the value of any `password` query
/// parameter replaced by `[redacted]`.
fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else { return tail.to_owned() };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=[redacted]"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}
