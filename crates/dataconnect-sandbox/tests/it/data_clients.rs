//! The behaviour of each sandbox test client and of our own test meters:
//! gaps, directions, self-consumption, revoked consent, DST days, changing
//! steps, null values, and the arithmetic between series.

use serde_json::Value;

use crate::data_support::*;

const CLC: &str = "metering_data_clc/v5/consumption_load_curve";
const PLC: &str = "metering_data_plc/v5/production_load_curve";
const DC: &str = "metering_data_dc/v5/daily_consumption";
const DP: &str = "metering_data_dp/v5/daily_production";
const DCMP: &str = "metering_data_dcmp/v5/daily_consumption_max_power";

#[tokio::test]
async fn client_0_complete_plausible_data() {
    let e = env().await;
    let daily = e.ok(&v5(DC, "22516914714270", "2024-01-01", "2024-11-20")).await;
    let values: Vec<i64> = readings(&daily).iter().map(|i| int(&i["value"])).collect();
    assert_eq!(values.len(), 324, "every day from 1 January to yesterday");
    assert!(values.iter().all(|v| (3_000..120_000).contains(v)), "{values:?}");
    let winter: i64 = values[..31].iter().sum();
    let summer: i64 = values[182..213].iter().sum();
    assert!(winter > summer, "heating makes January heavier than July: {winter} vs {summer}");
    let curve = e.ok(&v5(CLC, "22516914714270", "2024-01-08", "2024-01-09")).await;
    let watts: Vec<i64> = readings(&curve).iter().map(|i| int(&i["value"])).collect();
    let night = watts[4..10].iter().sum::<i64>() / 6; // 02:00-05:00
    let evening = watts[38..42].iter().sum::<i64>() / 4; // 19:00-21:00
    assert!(evening > night, "evening peak above the night: {evening} vs {night}");
}

#[tokio::test]
async fn client_2_has_daily_data_but_no_curve() {
    let e = env().await;
    let prm = "32320647321714";
    let daily = e.ok(&v5(DC, prm, "2024-05-01", "2024-05-08")).await;
    assert_eq!(readings(&daily).len(), 7);
    let max = e.ok(&v5(DCMP, prm, "2024-05-01", "2024-05-08")).await;
    assert_eq!(readings(&max).len(), 7);
    // The curve is not collected: the conso-api #77 answer.
    for path in [CLC, "v4/metering_data/consumption_load_curve", "v3/metering_data/consumption_load_curve"] {
        let (status, body) = e.get(&v5(path, prm, "2024-05-01", "2024-05-03")).await;
        assert_eq!((status, &body["error"]), (404, &Value::from("no_data_found")), "{path}");
    }
    let (status, _) = e.get(&y2026("courbe_de_charge_consommation", prm, "2024-05-01", "2024-05-03")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn client_3_one_consumption_and_one_production_point() {
    let e = env().await;
    let (cons, prod) = ("12345678901234", "10284856584123");
    e.ok(&v5(CLC, cons, "2024-06-01", "2024-06-02")).await;
    e.ok(&v5(PLC, prod, "2024-06-01", "2024-06-02")).await;
    let (status, body) = e.get(&v5(PLC, cons, "2024-06-01", "2024-06-02")).await;
    assert_eq!((status, &body["error"]), (400, &Value::from("ADAM-ERR0069")));
    let (status, body) = e.get(&v5(CLC, prod, "2024-06-01", "2024-06-02")).await;
    assert_eq!((status, &body["error"]), (400, &Value::from("ADAM-ERR0069")));
    let (status, body) = e.get(&y2026("courbe_de_charge_production", cons, "2024-06-01", "2024-06-02")).await;
    assert_eq!((status, &body["code"]), (400, &Value::from("ADAM-ERR0069")));
}

#[tokio::test]
async fn client_4_has_gaps_on_tuesdays_and_wednesdays() {
    let e = env().await;
    let prm = "42900589957123";
    // 2024-11-11 is a Monday.
    let daily = e.ok(&v5(DC, prm, "2024-11-11", "2024-11-18")).await;
    let days: Vec<&str> = readings(&daily).iter().map(|i| i["date"].as_str().unwrap_or("")).collect();
    assert_eq!(days, ["2024-11-11", "2024-11-14", "2024-11-15", "2024-11-16", "2024-11-17"]);
    let curve = e.ok(&v5(CLC, prm, "2024-11-11", "2024-11-18")).await;
    assert_eq!(readings(&curve).len(), 5 * 48);
    for item in readings(&curve) {
        let d = item["date"].as_str().unwrap_or("");
        assert!(d == "2024-11-12 00:00:00" || !(d.starts_with("2024-11-12") || d.starts_with("2024-11-13")), "{d}");
    }
    // The v3 ranks keep the holes.
    let v3 = e.ok(&v5("v3/metering_data/consumption_load_curve", prm, "2024-11-11", "2024-11-15")).await;
    let ranks: Vec<i64> = v3["usage_point"][0]["meter_reading"]["interval_reading"]
        .as_array()
        .expect("v3")
        .iter()
        .map(|i| int(&i["rank"]))
        .collect();
    assert_eq!(ranks, (1..=48).chain(145..=192).collect::<Vec<_>>());
}

#[tokio::test]
async fn client_5_produces_only() {
    let e = env().await;
    let prm = "24880057139941";
    let daily = e.ok(&v5(DP, prm, "2024-06-01", "2024-06-08")).await;
    let june: i64 = readings(&daily).iter().map(|i| int(&i["value"])).sum();
    let winter = e.ok(&v5(DP, prm, "2024-01-01", "2024-01-08")).await;
    let january: i64 = readings(&winter).iter().map(|i| int(&i["value"])).sum();
    assert!(june > january, "more sun in June: {june} vs {january}");
    for path in [DC, CLC, DCMP] {
        let (status, body) = e.get(&v5(path, prm, "2024-06-01", "2024-06-02")).await;
        assert_eq!((status, &body["error"]), (400, &Value::from("ADAM-ERR0069")), "{path}");
    }
    let (status, _) = e.get(&format!("/customers_i/v5/identity?usage_point_id={prm}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn client_6_nets_self_consumption_per_interval() {
    let e = env().await;
    let prm = "12655648759651";
    let cons = e.ok(&v5(CLC, prm, "2024-06-10", "2024-06-17")).await;
    let prod = e.ok(&v5(PLC, prm, "2024-06-10", "2024-06-17")).await;
    let (c, p) = (readings(&cons), readings(&prod));
    assert_eq!(c.len(), p.len());
    let mut both_zero_free = 0;
    for (a, b) in c.iter().zip(p) {
        assert_eq!(a["date"], b["date"]);
        let (x, y) = (int(&a["value"]), int(&b["value"]));
        assert!(x == 0 || y == 0, "at {}: consumption {x} and production {y} at once", a["date"]);
        if y > 0 {
            both_zero_free += 1;
        }
    }
    assert!(both_zero_free > 0, "a June week has surplus production");
    let dc = e.ok(&v5(DC, prm, "2024-06-10", "2024-06-17")).await;
    let dp = e.ok(&v5(DP, prm, "2024-06-10", "2024-06-17")).await;
    assert_eq!(readings(&dc).iter().map(|i| int(&i["value"]) * 60).sum::<i64>(), curve_energy_x60(c));
    assert_eq!(readings(&dp).iter().map(|i| int(&i["value"]) * 60).sum::<i64>(), curve_energy_x60(p));
}

#[tokio::test]
async fn client_7_three_meters_and_client_8_revoked() {
    let e = env().await;
    let tokens = e.sb.legacy_tokens(7).await;
    let granted = tokens["usage_points_id"].as_str().unwrap_or("");
    let token = tokens["access_token"].as_str().expect("token");
    for prm in ["64975835695673", "63695879465986", "22315546958763"] {
        assert!(granted.contains(prm), "{granted}");
        let (status, _) = e
            .get_text_with(&v5("v4/metering_data/consumption_load_curve", prm, "2024-06-01", "2024-06-02"), Some(token))
            .await;
        assert_eq!(status, 200, "{prm}");
    }
    let revoked = "26584978546985";
    for path in [DC, CLC, DCMP, "v4/metering_data/daily_consumption", "customers_i/v5/identity"] {
        let (status, body) = e.get(&v5(path, revoked, "2024-06-01", "2024-06-02")).await;
        assert_eq!((status, &body["error"]), (403, &Value::from("ADAM-DC-0008")), "{path}");
    }
    let (status, body) = e.get(&y2026("consommation_quotidienne", revoked, "2024-06-01", "2024-06-02")).await;
    assert_eq!((status, &body["code"]), (403, &Value::from("ADAM-DC-0008")));
}

#[tokio::test]
async fn dst_days_have_46_and_50_points_in_order() {
    let e = env().await;
    let prm = "22516914714270";
    let spring = e.ok(&v5(CLC, prm, "2024-03-31", "2024-04-01")).await;
    let stamps: Vec<&str> = readings(&spring).iter().map(|i| i["date"].as_str().unwrap_or("")).collect();
    assert_eq!(stamps.len(), 46);
    assert_eq!(
        &stamps[..4],
        ["2024-03-31 00:30:00", "2024-03-31 01:00:00", "2024-03-31 01:30:00", "2024-03-31 03:00:00"]
    );
    assert!(!stamps.iter().any(|s| s.contains(" 02:")), "no 02:xx wall-clock time exists that day");
    assert_eq!(stamps[45], "2024-04-01 00:00:00");

    let autumn = e.ok(&v5(CLC, prm, "2024-10-27", "2024-10-28")).await;
    let stamps: Vec<&str> = readings(&autumn).iter().map(|i| i["date"].as_str().unwrap_or("")).collect();
    assert_eq!(stamps.len(), 50);
    assert_eq!(
        &stamps[..8],
        [
            "2024-10-27 00:30:00",
            "2024-10-27 01:00:00",
            "2024-10-27 01:30:00",
            "2024-10-27 02:00:00",
            "2024-10-27 02:30:00",
            "2024-10-27 02:00:00",
            "2024-10-27 02:30:00",
            "2024-10-27 03:00:00",
        ]
    );
    assert_eq!(stamps[49], "2024-10-28 00:00:00");

    let y = e.ok(&y2026("courbe_de_charge_consommation", prm, "2024-10-27", "2024-10-28")).await;
    let ystamps: Vec<&str> = points(&y).iter().map(|p| p["d"].as_str().unwrap_or("")).collect();
    assert_eq!(ystamps, stamps);
    let v3 = e.ok(&v5("v3/metering_data/consumption_load_curve", prm, "2024-03-31", "2024-04-01")).await;
    assert_eq!(v3["usage_point"][0]["meter_reading"]["interval_reading"].as_array().map(Vec::len), Some(46));
    let v3 = e.ok(&v5("v3/metering_data/consumption_load_curve", prm, "2024-10-27", "2024-10-28")).await;
    assert_eq!(v3["usage_point"][0]["meter_reading"]["interval_reading"].as_array().map(Vec::len), Some(50));

    // The days still sum up.
    for (day, next, curve) in [("2024-03-31", "2024-04-01", &spring), ("2024-10-27", "2024-10-28", &autumn)] {
        let daily = e.ok(&v5(DC, prm, day, next)).await;
        assert_eq!(int(&readings(&daily)[0]["value"]) * 60, curve_energy_x60(readings(curve)));
    }
}

#[tokio::test]
async fn our_test_meters_pt10m_changing_step_and_nulls() {
    let e = env().await;
    let pt10 = e.ok(&v5(CLC, "90000000000010", "2024-06-03", "2024-06-04")).await;
    assert_eq!(readings(&pt10).len(), 144);
    assert!(readings(&pt10).iter().all(|i| i["interval_length"] == "PT10M"));
    assert_eq!(readings(&pt10)[0]["date"], "2024-06-03 00:10:00");

    let changing = e.ok(&v5(CLC, "90000000000011", "2024-06-03", "2024-06-04")).await;
    let steps: Vec<&str> = readings(&changing).iter().map(|i| i["interval_length"].as_str().unwrap_or("")).collect();
    let expected: Vec<&str> = [("PT60M", 6), ("PT30M", 12), ("PT15M", 24), ("PT10M", 36)]
        .iter()
        .flat_map(|(s, n)| std::iter::repeat_n(*s, *n))
        .collect();
    assert_eq!(steps, expected);
    let stamps: Vec<&str> = readings(&changing).iter().map(|i| i["date"].as_str().unwrap_or("")).collect();
    assert_eq!(&stamps[5..8], ["2024-06-03 06:00:00", "2024-06-03 06:30:00", "2024-06-03 07:00:00"]);
    // The 2026 API shows the same steps, per point.
    let y = e.ok(&y2026("courbe_de_charge_consommation", "90000000000011", "2024-06-03", "2024-06-04")).await;
    assert_eq!(points(&y).iter().map(|p| p["p"].as_str().unwrap_or("")).collect::<Vec<_>>(), expected);
    // On the March change day the PT60M segment is one hour shorter.
    let spring = e.ok(&v5(CLC, "90000000000011", "2024-03-31", "2024-04-01")).await;
    assert_eq!(readings(&spring).len(), 5 + 12 + 24 + 36);

    let nulls = e.ok(&v5(CLC, "90000000000012", "2024-06-03", "2024-06-10")).await;
    let n = readings(&nulls).iter().filter(|i| i["value"].is_null()).count();
    assert!(n > 0 && n < 100, "{n} null values in a week");
    let daily = e.ok(&v5(DC, "90000000000012", "2024-06-03", "2024-06-10")).await;
    let total: i64 = readings(&daily).iter().map(|i| int(&i["value"]) * 60).sum();
    assert_eq!(total, curve_energy_x60(readings(&nulls)), "nulls count as zero in the daily sum");
    let y = e.ok(&y2026("courbe_de_charge_consommation", "90000000000012", "2024-06-03", "2024-06-10")).await;
    assert_eq!(points(&y).iter().filter(|p| p["v"].is_null()).count(), n);
}

#[tokio::test]
async fn daily_is_the_sum_of_the_curve_and_max_is_above_it() {
    let e = env().await;
    for prm in [
        "22516914714270",
        "11453290002823",
        "42900589957123",
        "12655648759651",
        "90000000000010",
        "90000000000011",
        "90000000000012",
    ] {
        for (start, end) in [("2024-01-15", "2024-01-22"), ("2024-07-01", "2024-07-08")] {
            let curve = e.ok(&v5(CLC, prm, start, end)).await;
            let daily = e.ok(&v5(DC, prm, start, end)).await;
            let max = e.ok(&v5(DCMP, prm, start, end)).await;
            assert_eq!(readings(&daily).len(), readings(&max).len(), "{prm}");
            for (d, m) in readings(&daily).iter().zip(readings(&max)) {
                let day = d["date"].as_str().unwrap_or("");
                let of_day: Vec<Value> = readings(&curve)
                    .iter()
                    .filter(|i| {
                        // End stamps of the day: after 00:00 of the day, up to 00:00 of the next.
                        let s = i["date"].as_str().unwrap_or("");
                        (s.starts_with(day) && !s.ends_with(" 00:00:00")) || is_next_midnight(s, day)
                    })
                    .cloned()
                    .collect();
                assert_eq!(int(&d["value"]) * 60, curve_energy_x60(&of_day), "{prm} {day}");
                let top = of_day.iter().filter(|i| !i["value"].is_null()).map(|i| int(&i["value"])).max().unwrap_or(0);
                assert!(int(&m["value"]) >= top, "{prm} {day}: max {} below curve {top}", m["value"]);
                assert!(m["date"].as_str().unwrap_or("").starts_with(day), "{prm}: peak stamped on its day");
            }
        }
    }
}

fn is_next_midnight(stamp: &str, day: &str) -> bool {
    let Ok(d) = day.parse::<jiff::civil::Date>() else { return false };
    d.tomorrow().is_ok_and(|n| stamp == format!("{n} 00:00:00"))
}
