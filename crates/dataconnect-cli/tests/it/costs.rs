//! `dataconnect costs` on the store `dataconnect demo` filled: base and
//! HP/HC tariffs, off-peak hours from the stored contract or `--offpeak`.

use serde_json::Value;

use crate::spawned::{DEMO_CONSUMPTION, DEMO_PRODUCTION, dataconnect, demo, run, run_ok};

fn costs(args: &[&str]) -> Value {
    let demo = demo();
    let out = run_ok(
        dataconnect(&demo.home)
            .args(["costs", "--format", "json", "--from", "2020-10-01", "--to", "2021-01-01", "--db"])
            .arg(&demo.db)
            .args(args),
    );
    serde_json::from_str(&out).unwrap()
}

#[test]
fn hp_hc_split_the_curve_and_base_costs_the_daily_energy() {
    let base = costs(&["--prm", DEMO_CONSUMPTION, "--base", "0.25"]);
    assert_eq!(base["series"], "consumption-daily");
    assert_eq!(base["months"].as_array().unwrap().len(), 3);
    assert_eq!(base["total"]["days"], 92);
    let kwh = base["total"]["kwh"].as_f64().unwrap();
    assert!(kwh > 100.0);
    assert!((base["total"]["cost"].as_f64().unwrap() - kwh * 0.25).abs() < 1e-6);

    let split = costs(&["--prm", DEMO_CONSUMPTION, "--hp", "0.27", "--hc", "0.2", "--subscription", "15"]);
    assert_eq!(split["series"], "consumption-curve");
    assert_eq!(split["offpeak_source"], "contract");
    let t = &split["total"];
    let (hp, hc) = (t["kwh_hp"].as_f64().unwrap(), t["kwh_hc"].as_f64().unwrap());
    assert!(hp > 0.0 && hc > 0.0);
    assert!((hp + hc - t["kwh"].as_f64().unwrap()).abs() < 1e-6);
    // The curve and the daily energy of the sandbox agree to the Wh.
    assert!((t["kwh"].as_f64().unwrap() - kwh).abs() < 0.01 * kwh, "{} vs {kwh}", t["kwh"]);
    assert!((t["energy_cost"].as_f64().unwrap() - (hp * 0.27 + hc * 0.2)).abs() < 1e-6);
    assert!((t["subscription_cost"].as_f64().unwrap() - 15.0 * 12.0 / 365.25 * 92.0).abs() < 1e-6);

    // A wider off-peak window moves energy from HP to HC.
    let wide = costs(&["--prm", DEMO_CONSUMPTION, "--hp", "0.27", "--hc", "0.2", "--offpeak", "HC (20H00-8H00)"]);
    assert_eq!(wide["offpeak"], "20:00-08:00");
    assert!(wide["total"]["kwh_hc"].as_f64().unwrap() > hc);
}

#[test]
fn costs_explain_what_is_missing() {
    let demo = demo();
    let costs = |args: &[&str]| {
        run(dataconnect(&demo.home)
            .args(["costs", "--from", "2020-10-01", "--to", "2021-01-01", "--db"])
            .arg(&demo.db)
            .args(args))
    };
    // The production meter's contract has no off-peak hours.
    let r = costs(&["--prm", DEMO_PRODUCTION, "--hp", "0.27", "--hc", "0.2"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--offpeak"), "{r:?}");
    let r = costs(&["--prm", DEMO_CONSUMPTION, "--hp", "0.27", "--hc", "0.2", "--offpeak", "soon"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("22H00-6H00"), "{r:?}");
    // No tariff, or half of one.
    assert_eq!(costs(&["--prm", DEMO_CONSUMPTION]).code, 2);
    assert_eq!(costs(&["--prm", DEMO_CONSUMPTION, "--hp", "0.27"]).code, 2);
    let r = costs(&["--prm", DEMO_CONSUMPTION, "--base", "-1"]);
    assert_eq!(r.code, 2, "{r:?}");
}
