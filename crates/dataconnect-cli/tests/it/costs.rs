//! `dataconnect costs` and `tariffs` on a copy of the store `dataconnect
//! demo` filled (October to December 2020): the shipped Base and HP/HC prices, the
//! regulator's tables imported in their published format, Tempo with the
//! shipped calendar, the comparison, the power advice and the errors.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::spawned::{DEMO_CONSUMPTION, DEMO_PRODUCTION, Ran, dataconnect, demo, run};

/// A private copy of the demo store (these tests write to it).
fn store_copy(dir: &Path) -> PathBuf {
    let demo = demo();
    let db = dir.join("demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", demo.db.display()));
        if from.exists() {
            std::fs::copy(&from, format!("{}{suffix}", db.display())).unwrap();
        }
    }
    db
}

fn cli(dir: &Path, db: &Path, args: &[&str]) -> Ran {
    run(dataconnect(dir).args(args).env("DATACONNECT_DB", db).env("DATACONNECT_TODAY", "2021-01-15"))
}

fn json_ok(dir: &Path, db: &Path, args: &[&str]) -> Value {
    let r = cli(dir, db, args);
    assert_eq!(r.code, 0, "{r:?}");
    serde_json::from_str(&r.stdout).unwrap()
}

const PERIOD: [&str; 4] = ["--from", "2020-10-01", "--to", "2021-01-01"];

/// The regulator's HP/HC table as published (BOM, `;`, decimal comma),
/// columns shuffled and one extra; test prices, not real ones.
const HPHC: &str = "\u{feff}DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC;PART_VARIABLE_HP_HT;PART_VARIABLE_HP_TTC;PART_VARIABLE_HC_HT;PART_VARIABLE_HC_TTC;COMMENTAIRE\n\
01/08/2020;31/01/2021;6;100;146,4;0,1;0,2;0,05;0,1;test\n\
01/08/2020;;9;120;183;0,1;0,2;0,05;0,1;test\n";

/// A Tempo table; the prices grow by period so every one is told apart.
fn tempo_table(start: &str) -> String {
    let mut header = "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC".to_owned();
    let mut row = format!("{start};;6;100;183");
    for (i, p) in ["HCBleu", "HPBleu", "HCBlanc", "HPBlanc", "HCRouge", "HPRouge"].iter().enumerate() {
        header.push_str(&format!(";PART_VARIABLE_{p}_HT;PART_VARIABLE_{p}_TTC"));
        row.push_str(&format!(";0,1;0,{}", i + 1));
    }
    format!("{header}\n{row}\n")
}

fn kwh_of(months: &Value, period: &str) -> f64 {
    months.as_array().unwrap().iter().map(|m| m["periods"][period]["kwh"].as_f64().unwrap_or(0.0)).sum()
}

#[test]
fn base_costs_at_the_shipped_regulated_prices_in_the_exact_json_shape() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_copy(dir.path());
    let mut args = vec!["costs", "--prm", DEMO_CONSUMPTION, "--offer", "trv-base", "--kva", "6", "--format", "json"];
    args.extend(PERIOD);
    let c = json_ok(dir.path(), &db, &args);
    let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["energy_eur", "from", "kva", "months", "offer", "prm", "subscription_eur", "to", "total_eur"]);
    assert_eq!(
        (c["prm"].as_str(), c["offer"].as_str(), c["kva"].as_u64()),
        (Some(DEMO_CONSUMPTION), Some("trv-base"), Some(6))
    );
    assert_eq!((c["from"].as_str(), c["to"].as_str()), (Some("2020-10-01"), Some("2021-01-01")));
    let months = c["months"].as_array().unwrap();
    assert_eq!(months.len(), 3);
    let mut mkeys: Vec<&str> = months[0].as_object().unwrap().keys().map(String::as_str).collect();
    mkeys.sort_unstable();
    assert_eq!(mkeys, ["days", "energy_eur", "missing_days", "month", "periods", "subscription_eur", "total_eur"]);
    assert_eq!(
        (months[0]["month"].as_str(), months[0]["days"].as_u64(), months[0]["missing_days"].as_u64()),
        (Some("2020-10"), Some(31), Some(0))
    );
    // 01/08/2020 prices at 6 kVA: 128.52 €/year over 2020's 366 days, 0.1557 €/kWh.
    assert!((c["subscription_eur"].as_f64().unwrap() - 32.31).abs() < 0.006, "{c}");
    let kwh = kwh_of(&c["months"], "BASE");
    assert!(kwh > 100.0, "{c}");
    assert!((c["energy_eur"].as_f64().unwrap() - kwh * 0.1557).abs() < 0.05, "{c}");
    let total: f64 = months.iter().map(|m| m["total_eur"].as_f64().unwrap()).sum();
    assert!((total - c["total_eur"].as_f64().unwrap()).abs() < 0.02);
    // CSV: a header, three months and the total.
    let mut args = vec!["costs", "--prm", DEMO_CONSUMPTION, "--offer", "trv-base", "--kva", "6", "--format", "csv"];
    args.extend(PERIOD);
    let r = cli(dir.path(), &db, &args);
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "month,days,missing_days,BASE_kwh,BASE_eur,energy_eur,subscription_eur,total_eur");
    assert_eq!(lines.len(), 5);
    assert!(lines[4].starts_with("total,92,0,"), "{}", r.stdout);
}

#[test]
fn hphc_costs_at_the_shipped_regulated_prices() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_copy(dir.path());
    let mut args = vec!["costs", "--prm", DEMO_CONSUMPTION, "--offer", "trv-hphc", "--kva", "6", "--format", "json"];
    args.extend(PERIOD);
    let h = json_ok(dir.path(), &db, &args);
    let (hp, hc) = (kwh_of(&h["months"], "HP"), kwh_of(&h["months"], "HC"));
    assert!(hp > 0.0 && hc > 0.0, "{h}");
    // The CRE's 01/08/2020 HP/HC row at 6 kVA: 137.40 €/year, HP 0.1798 and
    // HC 0.1344 €/kWh; October to December 2020 is 92 of 2020's 366 days.
    assert!((h["subscription_eur"].as_f64().unwrap() - 137.40 * 92.0 / 366.0).abs() < 0.006, "{h}");
    assert!((h["energy_eur"].as_f64().unwrap() - (hp * 0.1798 + hc * 0.1344)).abs() < 0.02, "{h}");
    // The same kWh as Base: the periods only split them.
    let mut args = vec!["costs", "--prm", DEMO_CONSUMPTION, "--offer", "trv-base", "--kva", "6", "--format", "json"];
    args.extend(PERIOD);
    let b = json_ok(dir.path(), &db, &args);
    let total = kwh_of(&b["months"], "BASE");
    assert!((hp + hc - total).abs() < 0.01 * total, "{hp} + {hc} vs {total}");
}

#[test]
fn imported_tables_price_hphc_and_tempo_and_the_comparison_ranks_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_copy(dir.path());
    let (hphc, tempo) = (dir.path().join("Option_HPHC.csv"), dir.path().join("Option_Tempo.csv"));
    std::fs::write(&hphc, HPHC).unwrap();
    std::fs::write(&tempo, tempo_table("01/08/2020")).unwrap();
    let r = cli(dir.path(), &db, &["tariffs", "import", hphc.to_str().unwrap(), tempo.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("2 row(s) of trv-hphc") && r.stdout.contains("1 row(s) of trv-tempo"), "{}", r.stdout);
    let list = json_ok(dir.path(), &db, &["tariffs", "list", "--format", "json"]);
    let tempo_offer = list["offers"].as_array().unwrap().iter().find(|o| o["name"] == "trv-tempo").unwrap().clone();
    assert_eq!(tempo_offer["imported_rows"], 1);
    let show = json_ok(dir.path(), &db, &["tariffs", "show", "trv-hphc", "--at", "2020-12-01", "--format", "json"]);
    // One row per power in force that day: the imported ones at 6 and 9 kVA
    // take precedence, the shipped CRE rows give the other six.
    let rows = show["rows"].as_array().unwrap();
    let kva: Vec<u64> = rows.iter().map(|r| r["kva"].as_u64().unwrap()).collect();
    assert_eq!(kva, [6, 9, 12, 15, 18, 24, 30, 36]);
    assert_eq!((&rows[0]["prices_eur_per_kwh"]["HP"], &rows[0]["imported"]), (&json!(0.2), &json!(true)));
    assert_eq!((&rows[1]["prices_eur_per_kwh"]["HP"], &rows[1]["imported"]), (&json!(0.2), &json!(true)));
    assert_eq!((&rows[2]["prices_eur_per_kwh"]["HP"], &rows[2]["imported"]), (&json!(0.1798), &json!(false)));
    assert_eq!(rows[2]["subscription_eur_per_year"], 200.16);

    let base = |offer: &str| {
        let mut a = vec!["costs", "--prm", DEMO_CONSUMPTION, "--offer", offer, "--kva", "6", "--format", "json"];
        a.extend(PERIOD);
        json_ok(dir.path(), &db, &a)
    };
    let b = base("trv-base");
    let total_kwh = kwh_of(&b["months"], "BASE");
    // HP/HC from the contract's off-peak hours: 0.2 and 0.1 €/kWh.
    let h = base("trv-hphc");
    let (hp, hc) = (kwh_of(&h["months"], "HP"), kwh_of(&h["months"], "HC"));
    assert!(hp > 0.0 && hc > 0.0, "{h}");
    assert!((hp + hc - total_kwh).abs() < 0.01 * total_kwh, "{hp} + {hc} vs {total_kwh}");
    assert!((h["energy_eur"].as_f64().unwrap() - (hp * 0.2 + hc * 0.1)).abs() < 0.02, "{h}");
    // Tempo with the shipped calendar: the six periods, red days only from November.
    let t = base("trv-tempo");
    let periods: f64 =
        ["HPBleu", "HCBleu", "HPBlanc", "HCBlanc", "HPRouge", "HCRouge"].iter().map(|p| kwh_of(&t["months"], p)).sum();
    assert!((periods - total_kwh).abs() < 0.01 * total_kwh);
    assert_eq!(t["months"][0]["periods"]["HPRouge"]["kwh"].as_f64(), Some(0.0));
    assert!(kwh_of(&t["months"], "HPRouge") > 0.0, "December 2020 had red days: {t}");
    // The comparison: the three offers and a market offer, cheapest first.
    let offer = dir.path().join("night.toml");
    std::fs::write(
        &offer,
        "name = \"night-owl\"\nsource = \"test\"\nsource_date = 2020-01-01\nvalid_from = 2020-01-01\nkind = \"hphc\"\noffpeak = [\"20:00-08:00\"]\n\n[[prices]]\nkva = 6\nsubscription_eur_per_year = 100.0\nHP = 0.3\nHC = 0.05\n",
    )
    .unwrap();
    let mut a = vec![
        "costs",
        "--prm",
        DEMO_CONSUMPTION,
        "--kva",
        "6",
        "--offer",
        "trv-base",
        "--compare",
        "--format",
        "json",
        "--offers",
        offer.to_str().unwrap(),
    ];
    a.extend(PERIOD);
    let cmp = json_ok(dir.path(), &db, &a);
    let offers = cmp["offers"].as_array().unwrap();
    let names: Vec<&str> = offers.iter().map(|o| o["offer"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 4, "{cmp}");
    for n in ["trv-base", "trv-hphc", "trv-tempo", "night-owl"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let totals: Vec<f64> = offers.iter().map(|o| o["total_eur"].as_f64().unwrap()).collect();
    assert!(totals.windows(2).all(|w| w[0] <= w[1]), "{totals:?}");
    let base_total = cmp["current_total_eur"].as_f64().unwrap();
    assert!((base_total - b["total_eur"].as_f64().unwrap()).abs() < 0.006);
    for o in offers {
        assert!(
            (o["difference_eur"].as_f64().unwrap() - (o["total_eur"].as_f64().unwrap() - base_total)).abs() < 0.011,
            "{o}"
        );
    }
}

#[test]
fn bad_input_names_the_problem_and_keeps_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_copy(dir.path());
    let costs = |extra: &[&str]| {
        let mut a = vec!["costs", "--prm", DEMO_CONSUMPTION];
        a.extend(PERIOD);
        a.extend(extra);
        cli(dir.path(), &db, &a)
    };
    let r = costs(&["--offer", "edf-zen"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("unknown offer \"edf-zen\"") && r.stderr.contains("trv-base, trv-hphc, trv-tempo"),
        "{r:?}"
    );
    let r = costs(&["--offer", "trv-base", "--kva", "7"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no prices at 7 kVA; it has 3, 6, 9, 12, 15 kVA"), "{r:?}");
    // HP/HC starts at 6 kVA.
    let r = costs(&["--offer", "trv-hphc", "--kva", "3"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no prices at 3 kVA; it has 6, 9, 12, 15, 18, 24, 30, 36 kVA"), "{r:?}");
    // A good table, then a bad one: the bad one names file, line and column, and stores nothing.
    let good = dir.path().join("Option_Tempo.csv");
    std::fs::write(&good, tempo_table("01/11/2020")).unwrap();
    assert_eq!(cli(dir.path(), &db, &["tariffs", "import", good.to_str().unwrap()]).code, 0);
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        HPHC.replace("0,2;0,05;0,1;test\n01/08/2020;;9;120;183", "0,2;0,05;0,1;test\n01/08/2020;;9;120;cent"),
    )
    .unwrap();
    let r = cli(dir.path(), &db, &["tariffs", "import", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("bad.csv, line 3, column PART_FIXE_TTC: \"cent\" is not a price"), "{r:?}");
    let list = json_ok(dir.path(), &db, &["tariffs", "list", "--format", "json"]);
    let imported: u64 = list["offers"].as_array().unwrap().iter().map(|o| o["imported_rows"].as_u64().unwrap()).sum();
    assert_eq!(imported, 1, "only the good table's row: {list}");
    // Tempo prices from 1 November only: October has no price in force, named.
    let r = costs(&["--offer", "trv-tempo", "--kva", "6"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("on 31 day(s): 2020-10-01..2020-10-31"), "{r:?}");
    // A producer's meter with no consumption stored.
    let r = cli(
        dir.path(),
        &db,
        &[
            "costs",
            "--prm",
            DEMO_PRODUCTION,
            "--offer",
            "trv-base",
            "--kva",
            "6",
            "--from",
            "2020-10-01",
            "--to",
            "2021-01-01",
        ],
    );
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("nothing stored"), "{r:?}");
    let r = costs(&["--offer", "trv-base", "--kva", "6", "--offpeak", "soon"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("22H00-6H00"), "{r:?}");
}

#[test]
fn hand_typed_prices_still_work_and_daily_only_meters_get_base() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_copy(dir.path());
    let mut a = vec![
        "costs",
        "--prm",
        DEMO_CONSUMPTION,
        "--hp",
        "0.27",
        "--hc",
        "0.2",
        "--subscription",
        "15",
        "--kva",
        "6",
        "--format",
        "json",
    ];
    a.extend(PERIOD);
    let c = json_ok(dir.path(), &db, &a);
    assert_eq!(c["offer"], "custom");
    // 15 €/month is 180 €/year, over 2020's 366 days, for 92 days.
    assert!((c["subscription_eur"].as_f64().unwrap() - 180.0 * 92.0 / 366.0).abs() < 0.006, "{c}");
    // Without the curve, a period offer is refused with the reason; Base prices the daily energy.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("DELETE FROM reading WHERE series = 'consumption-curve'", []).unwrap();
    drop(conn);
    let mut t = vec!["costs", "--prm", DEMO_CONSUMPTION, "--hp", "0.27", "--hc", "0.2", "--kva", "6"];
    t.extend(PERIOD);
    let r = cli(dir.path(), &db, &t);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("needs the load curve"), "{r:?}");
    let mut b = vec!["costs", "--prm", DEMO_CONSUMPTION, "--offer", "trv-base", "--kva", "6", "--format", "json"];
    b.extend(PERIOD);
    let c = json_ok(dir.path(), &db, &b);
    assert!(kwh_of(&c["months"], "BASE") > 100.0, "{c}");
}

#[test]
fn power_advice_counts_the_days_over_each_step() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_copy(dir.path());
    let a = json_ok(
        dir.path(),
        &db,
        &[
            "costs",
            "--prm",
            DEMO_CONSUMPTION,
            "--advise-power",
            "--offer",
            "trv-base",
            "--kva",
            "15",
            "--from",
            "2020-01-15",
            "--to",
            "2021-01-15",
            "--format",
            "json",
        ],
    );
    let peak = a["peak_va"].as_f64().unwrap();
    let rec = a["recommended_kva"].as_u64().unwrap() as f64;
    assert!(peak > 0.0 && peak <= rec * 1000.0 * 0.9, "{a}");
    let steps = a["steps"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["kva"], 15);
    // Days over a step never grow with the step.
    let over: Vec<u64> = steps.iter().map(|s| s["days_over"].as_u64().unwrap()).collect();
    assert!(over.windows(2).all(|w| w[0] >= w[1]), "{over:?}");
    assert_eq!(over.last(), Some(&0));
    let saving = a["yearly_saving_eur"].as_f64().unwrap();
    let fixed = |k: f64| {
        steps.iter().find(|s| s["kva"].as_f64() == Some(k)).unwrap()["subscription_eur_per_year"].as_f64().unwrap()
    };
    assert!((saving - (fixed(15.0) - fixed(rec))).abs() < 0.01, "{a}");
}
