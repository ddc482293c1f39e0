//! Consent security of the sandbox's pages: a consent for another client or
//! to an unregistered redirect URI is refused on the page itself (never
//! redirected), and every parameter a page reflects is escaped, whatever
//! markup `state` and `duration` carry, on the automatic pages and on the
//! interactive `--consent-page`.

use dataconnect_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI, SandboxConfig};

use crate::common::{config, enc, spawn};

const V1: &str = "/dataconnect/v1/oauth2/authorize";
const V2: &str = "/dataconnect/v2/oauth2/authorize";
const LEGACY: &str = "/group/espace-particuliers/consentement-linky/oauth2/authorize";

/// Markup an attacker would put in a reflected parameter.
const MARKUP: &[&str] = &[
    "<script>alert(1)</script>3",
    "\"><img src=x onerror=alert(1)>3",
    "'><svg onload=alert(1)>3",
    "</script><script>alert(1)</script>3",
];

/// Fails when `page` holds any of the raw markup.
fn assert_escaped(what: &str, page: &str) {
    // An event handler inside an escaped attribute value is inert text; what
    // matters is that no tag opens and no quote closes an attribute.
    for bad in ["<script>alert", "<img", "<svg", "\"><img", "'><svg"] {
        assert!(!page.contains(bad), "{what}: the page reflects {bad:?} unescaped:\n{page}");
    }
}

#[tokio::test]
async fn another_client_or_an_unregistered_redirect_is_refused_on_the_page() {
    let run = spawn(config()).await;
    let registered = enc(DEFAULT_REDIRECT_URI);
    let cases = [
        (V1, "client_id=someone-else&response_type=code&state=x0&duration=P1Y".to_owned()),
        (V2, "client_id=someone-else&response_type=code&state=x0&duration=P1Y".to_owned()),
        (
            V1,
            format!(
                "client_id={DEFAULT_CLIENT_ID}&response_type=code&state=x0&duration=P1Y&redirect_uri={}",
                enc("https://evil.example/cb")
            ),
        ),
        (
            V2,
            format!(
                "client_id={DEFAULT_CLIENT_ID}&response_type=code&state=x0&duration=P1Y&redirect_uri={}",
                enc("https://evil.example/cb")
            ),
        ),
        (
            LEGACY,
            format!(
                "client_id={DEFAULT_CLIENT_ID}&response_type=code&state=x0&duration=P1Y&redirect_uri={}",
                enc("http://127.0.0.1:8081/callback/../evil")
            ),
        ),
        // A registered URI with extra query or a different port is another URI.
        (
            V1,
            format!(
                "client_id={DEFAULT_CLIENT_ID}&response_type=code&state=x0&duration=P1Y&redirect_uri={registered}%3Fnext%3Dhttps%3A%2F%2Fevil.example"
            ),
        ),
        (
            LEGACY,
            format!(
                "client_id={DEFAULT_CLIENT_ID}&response_type=code&state=x0&duration=P1Y&redirect_uri={}",
                enc("http://127.0.0.1:8082/callback")
            ),
        ),
    ];
    for (path, query) in cases {
        let resp = run.http.get(run.url(&format!("{path}?{query}"))).send().await.unwrap();
        let status = resp.status();
        let location = resp.headers().get("location").map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = resp.text().await.unwrap();
        assert_eq!(status.as_u16(), 400, "{path}?{query}: {status} {body}");
        assert!(location.is_none(), "{path}?{query}: redirected to {location:?}");
        assert!(!body.contains("evil.example"), "{path}?{query}: the refusal names the attacker's URL: {body}");
        assert!(!body.contains("code="), "{path}?{query}: a code was issued: {body}");
    }
}

#[tokio::test]
async fn reflected_parameters_are_escaped_on_every_page() {
    let automatic = spawn(config()).await;
    let interactive = spawn(SandboxConfig { consent_page: true, ..config() }).await;
    let redirect = enc(DEFAULT_REDIRECT_URI);
    for markup in MARKUP {
        let state = enc(markup);
        for (run, name) in [(&automatic, "automatic"), (&interactive, "--consent-page")] {
            for (path, extra) in [
                (V1, String::new()),
                (V2, String::new()),
                (LEGACY, format!("&redirect_uri={redirect}")),
                (V1, format!("&redirect_uri={redirect}")),
            ] {
                // Markup in `state`, with a valid duration: the page or the
                // redirect carries the state back.
                let q = format!("client_id={DEFAULT_CLIENT_ID}&response_type=code&state={state}&duration=P1Y{extra}");
                let resp = run.http.get(run.url(&format!("{path}?{q}"))).send().await.unwrap();
                if let Some(loc) = resp.headers().get("location") {
                    let loc = loc.to_str().unwrap();
                    assert!(loc.starts_with(DEFAULT_REDIRECT_URI), "{name} {path}: redirected to {loc}");
                    assert!(
                        !loc.contains('<') && !loc.contains('"') && !loc.contains('>'),
                        "{name} {path}: raw markup in Location {loc}"
                    );
                }
                assert_escaped(&format!("{name} {path} state"), &resp.text().await.unwrap());
                // Markup in `duration` (an error page) and in both.
                for dur in [enc(markup), format!("P1Y{}", enc(markup))] {
                    let q =
                        format!("client_id={DEFAULT_CLIENT_ID}&response_type=code&state={state}&duration={dur}{extra}");
                    let resp = run.http.get(run.url(&format!("{path}?{q}"))).send().await.unwrap();
                    assert!(resp.headers().get("location").is_none(), "{name} {path}: redirected with a bad duration");
                    assert_escaped(&format!("{name} {path} duration"), &resp.text().await.unwrap());
                }
            }
            // The consent page's form posts back the same parameters.
            for path in [V1, V2] {
                let form = format!(
                    "client_id={DEFAULT_CLIENT_ID}&response_type=code&state={state}&duration=P1Y&decision=maybe&client={state}&prm={state}"
                );
                let resp = run
                    .http
                    .post(run.url(path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form)
                    .send()
                    .await
                    .unwrap();
                assert_escaped(&format!("{name} POST {path}"), &resp.text().await.unwrap());
            }
        }
    }
}
