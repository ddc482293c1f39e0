//! The consent journey of `dataconnect serve` in a real browser: headless
//! Chromium driven by chromedriver over WebDriver (thirtyfour), against a
//! real `dataconnect serve` and a real `dataconnect sandbox --consent-page`.
//!
//! Landing page → consent button → the sandbox's consent page → pick a
//! meter → accept → back on the redirect handler → the meter's page, until
//! its chart shows (the first sync is done). A PNG screenshot of each step
//! goes to `target/browser-artifacts/` (or `$DATACONNECT_ARTIFACTS`), and
//! the paths are printed.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them). Without chromedriver the test fails with the command to run,
//! unless `DATACONNECT_SKIP_BROWSER=1`, which skips it loudly.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use thirtyfour::prelude::*;

use super::serve::{CLIENT0_METER, http, journey};

const INSTALL: &str = "apt-get install -y chromium chromium-driver";

/// The first of `names` found in `PATH`, or `env` when set.
fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env).map(PathBuf::from) {
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(program: &Path) -> Driver {
        let port = super::free_port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && http("GET", &format!("{}/status", driver.url), &[], None).status == 200
            {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver never answered on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Where the screenshots go.
fn artifacts_dir() -> PathBuf {
    match std::env::var_os("DATACONNECT_ARTIFACTS") {
        Some(dir) => PathBuf::from(dir),
        // CARGO_TARGET_TMPDIR is <target>/tmp.
        None => {
            Path::new(env!("CARGO_TARGET_TMPDIR")).parent().map(|t| t.join("browser-artifacts")).unwrap_or_default()
        }
    }
}

/// Saves a screenshot of the page as it is and prints its path.
async fn shot(driver: &WebDriver, dir: &Path, name: &str, saved: &mut Vec<PathBuf>) {
    let path = dir.join(name);
    driver.screenshot(&path).await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
    let bytes = std::fs::read(&path).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000, "{name} is not a PNG");
    println!("screenshot: {}", path.display());
    saved.push(path);
}

/// Waits until the browser's address satisfies `ok`.
async fn wait_url(driver: &WebDriver, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let url = driver.current_url().await.expect("current URL").to_string();
        if ok(&url) {
            return url;
        }
        assert!(Instant::now() < deadline, "the browser never reached {what}; it is on {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn consent_journey_in_headless_chromium() {
    let Some(chromedriver) = find_program("CHROMEDRIVER", &["chromedriver"]) else {
        if std::env::var("DATACONNECT_SKIP_BROWSER").is_ok_and(|v| v == "1") {
            let banner = "*".repeat(78);
            eprintln!(
                "\n{banner}\n*** BROWSER TEST SKIPPED (DATACONNECT_SKIP_BROWSER=1): chromedriver is not installed.\n*** The consent journey of `dataconnect serve` was NOT tested in a browser.\n*** Install it with: {INSTALL}\n{banner}\n"
            );
            return;
        }
        panic!(
            "chromedriver is not installed, so the browser test cannot run: install it with `{INSTALL}` (or set CHROMEDRIVER=/path/to/chromedriver; DATACONNECT_SKIP_BROWSER=1 skips this test)"
        );
    };
    let chromium = find_program("CHROMIUM", &["chromium", "chromium-browser", "google-chrome"]).unwrap_or_else(|| {
        panic!("chromium is not installed: install it with `{INSTALL}` (or set CHROMIUM=/path/to/chromium)")
    });
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).expect("artifact directory");
    for step in ["01", "02", "03", "04", "05"] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten().filter(|e| e.file_name().to_string_lossy().starts_with(step)) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    let home = tempfile::tempdir().unwrap();
    let (sandbox, serve) = journey(home.path(), &home.path().join("serve.db"), &[]);
    let driver_process = Driver::start(&chromedriver);

    // The WebDriver client is reqwest, which this workspace builds without
    // a default TLS provider: give it one, as the library's client does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut saved = Vec::new();
    runtime.block_on(async {
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&chromium.to_string_lossy()).unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,2200",
            "--lang=fr-FR",
        ] {
            caps.add_arg(arg).unwrap();
        }
        let driver = WebDriver::new(driver_process.url.clone(), caps).await.expect("a Chromium session");
        let journey = async {
            // 1. The landing page.
            driver.goto(serve.at("/")).await.expect("landing page");
            let body = driver.source().await.unwrap();
            assert!(body.contains("Énergie Test &amp; Cie : accès aux données de votre compteur Linky"), "{body}");
            assert!(body.contains("Pour combien de temps ?"));
            shot(&driver, &dir, "01-landing.png", &mut saved).await;

            // 2. The consent button leads to the sandbox's consent page.
            driver.find(By::Id("donner-accord")).await.expect("the consent button").click().await.unwrap();
            wait_url(&driver, "the sandbox's consent page", |u| u.starts_with(&sandbox.base_url)).await;
            let page = driver.source().await.unwrap();
            assert!(page.contains("Autorisation d'accès à vos données"), "{page}");
            shot(&driver, &dir, "02-consent-page.png", &mut saved).await;

            // 3. The customer picks sandbox client 0 and its meter.
            driver.find(By::Id("client-0")).await.unwrap().click().await.unwrap();
            let meter = driver.find(By::Id(format!("prm-{CLIENT0_METER}"))).await.unwrap();
            meter.click().await.unwrap();
            assert!(meter.is_selected().await.unwrap(), "the meter is ticked");
            shot(&driver, &dir, "03-meter-picked.png", &mut saved).await;

            // 4. Accept: back through our redirect handler to the meter's page.
            driver.find(By::Css("button[value='accept']")).await.unwrap().click().await.unwrap();
            let landed =
                wait_url(&driver, "the meter's page", |u| u.contains(&format!("/compteurs/{CLIENT0_METER}"))).await;
            assert!(landed.starts_with(&serve.url), "{landed}");
            let page = driver.source().await.unwrap();
            assert!(page.contains(&format!("Compteur {CLIENT0_METER}")), "{page}");
            shot(&driver, &dir, "04-back-on-meter-page.png", &mut saved).await;

            // 5. The page shows the chart once the first sync stored it.
            let deadline = Instant::now() + Duration::from_secs(300);
            loop {
                let page = driver.source().await.unwrap();
                if page.contains("id=\"graphique-consumption-curve\"")
                    && page.contains("Première récupération terminée")
                {
                    break;
                }
                assert!(Instant::now() < deadline, "the chart never appeared: {page}");
                tokio::time::sleep(Duration::from_millis(500)).await;
                driver.refresh().await.unwrap();
            }
            let chart =
                driver.find(By::Css("#graphique-consumption-curve svg")).await.expect("the chart is on the page");
            assert!(chart.is_displayed().await.unwrap());
            shot(&driver, &dir, "05-meter-chart.png", &mut saved).await;
        };
        // A failed step still ends the session, so no Chromium outlives the test.
        let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(journey)).await;
        let _ = driver.quit().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
    assert_eq!(saved.len(), 5);
    println!("browser artifacts in {}", dir.display());
    drop(serve);
    drop(sandbox);
}
