//! Readings of every series through every generation, DST days, step
//! changes, nulls, gaps and the behaviour of each sandbox client.

use dataconnect::{Client, DateRange, ErrorKind, Generation, LegacyVersion, Reading, Series, Unit};
use jiff::Timestamp;
use jiff::civil::date;

use super::support::{self, client, consent, prm, start};

/// A client that may read `meter` in `generation`: generation 1 needs the
/// customer's consent (its token is per customer); 2 and 3 read any
/// consented meter with the application token.
async fn reader(run: &support::Running, generation: Generation, sandbox_client: u8) -> Client {
    let c = client(run, generation);
    if generation == Generation::Legacy {
        consent(&c, sandbox_client).await;
    }
    c
}

fn contiguous(r: &[Reading], range: DateRange) {
    assert_eq!(r.first().map(|x| x.start), Some(range.start_instant()), "first point");
    assert_eq!(r.last().map(|x| x.end), Some(range.end_instant()), "last point");
    for w in r.windows(2) {
        assert_eq!(w[0].end, w[1].start, "{:?} then {:?}", w[0], w[1]);
    }
}

#[tokio::test]
async fn every_series_of_every_generation_agrees() {
    let run = start(support::config()).await;
    let week = DateRange::new(date(2025, 11, 3), date(2025, 11, 10)).unwrap();
    let cons = prm("22516914714270");
    let prod = prm("24880057139941");
    let mut by_generation: Vec<Vec<Vec<Reading>>> = Vec::new();
    for generation in Generation::ALL {
        let c0 = reader(&run, generation, 0).await;
        let c5 = reader(&run, generation, 5).await;
        let mut all = Vec::new();
        for series in Series::ALL {
            let (c, meter) = match series.direction() {
                dataconnect::Direction::Consumption => (&c0, &cons),
                dataconnect::Direction::Production => (&c5, &prod),
            };
            let f =
                c.readings(meter, series, week).send().await.unwrap_or_else(|e| panic!("{generation} {series}: {e}"));
            assert_eq!(f.served, Some(week));
            assert!(f.clamped.is_none());
            let r = f.readings;
            match series.measure() {
                dataconnect::Measure::LoadCurve => {
                    assert_eq!(r.len(), 7 * 48, "{generation} {series}");
                    contiguous(&r, week);
                    assert!(r.iter().all(|x| x.unit == Unit::W && x.step_seconds() == 1800));
                }
                dataconnect::Measure::Daily => {
                    assert_eq!(r.len(), 7, "{generation} {series}");
                    contiguous(&r, week);
                    assert!(r.iter().all(|x| x.unit == Unit::Wh && x.value.is_some_and(|v| v > 0.0)));
                }
                dataconnect::Measure::MaxPower => {
                    assert_eq!(r.len(), 7, "{generation} {series}");
                    for x in &r {
                        assert_eq!(x.unit, Unit::VA);
                        let p = x.peak_at.expect("peak instant");
                        assert!(p >= x.start && p < x.end, "{generation}: peak {p} outside {x:?}");
                    }
                }
                // Not in `Series::ALL`: index readings have their own tests.
                dataconnect::Measure::Index => unreachable!("{series} is read with Client::index"),
            }
            all.push(r);
        }
        by_generation.push(all);
    }
    // Same meter, same values, whatever the generation.
    assert_eq!(by_generation[0], by_generation[1]);
    assert_eq!(by_generation[1], by_generation[2]);
    // Daily energy is the sum of the curve (W × h).
    let curve = &by_generation[1][0];
    let daily = &by_generation[1][1];
    let day0: f64 = curve.iter().take(48).filter_map(Reading::energy_wh).sum();
    let d = daily[0].value.unwrap();
    assert!((day0 - d).abs() <= 48.0, "curve {day0} Wh vs daily {d} Wh");
}

#[tokio::test]
async fn legacy_v3_ranks_match_v4() {
    let run = start(support::config()).await;
    let c = reader(&run, Generation::Legacy, 0).await;
    let meter = prm("22516914714270");
    let days = DateRange::new(date(2025, 10, 20), date(2025, 10, 30)).unwrap();
    for series in [Series::ConsumptionCurve, Series::ConsumptionDaily, Series::ConsumptionMaxPower] {
        let v3 = c.readings(&meter, series, days).legacy_version(LegacyVersion::V3).send().await.unwrap();
        let v4 = c.readings(&meter, series, days).send().await.unwrap();
        if series.is_curve() {
            // Ranks count elapsed half-hours, so the October day has 50.
            assert_eq!(v3.readings.len(), 10 * 48 + 2);
            assert_eq!(v3.readings, v4.readings);
        } else {
            assert_eq!(v3.readings.len(), 10);
            // v3 max power may not carry the peak instant; the values agree.
            let a: Vec<_> = v3.readings.iter().map(|r| (r.start, r.value)).collect();
            let b: Vec<_> = v4.readings.iter().map(|r| (r.start, r.value)).collect();
            assert_eq!(a, b, "{series}");
        }
    }
    let e =
        c.readings(&meter, Series::ProductionDaily, days).legacy_version(LegacyVersion::V3).send().await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unsupported);
}

#[tokio::test]
async fn dst_days_have_46_and_50_points() {
    let run = start(support::config()).await;
    let meter = prm("22516914714270");
    for generation in Generation::ALL {
        let c = reader(&run, generation, 0).await;
        for (day, n, hours) in [(date(2025, 3, 30), 46, 23), (date(2025, 10, 26), 50, 25)] {
            let range = DateRange::day(day);
            let r = c.readings(&meter, Series::ConsumptionCurve, range).send().await.unwrap().readings;
            assert_eq!(r.len(), n, "{generation} {day}");
            contiguous(&r, range);
            assert_eq!(range.end_instant().as_second() - range.start_instant().as_second(), hours * 3600);
            // Daily and max power cover the 23- and 25-hour days.
            let d = c.readings(&meter, Series::ConsumptionDaily, range).send().await.unwrap().readings;
            assert_eq!(d[0].step_seconds(), hours * 3600);
            let m = c.readings(&meter, Series::ConsumptionMaxPower, range).send().await.unwrap().readings;
            let p = m[0].peak_at.unwrap();
            assert!(p >= m[0].start && p < m[0].end);
        }
        // A week across the October change: 7 × 48 + 2 points, in order.
        let week = DateRange::new(date(2025, 10, 22), date(2025, 10, 29)).unwrap();
        let r = c.readings(&meter, Series::ConsumptionCurve, week).send().await.unwrap().readings;
        assert_eq!(r.len(), 7 * 48 + 2);
        contiguous(&r, week);
    }
}

#[tokio::test]
async fn steps_change_and_nulls_are_kept() {
    let run = start(support::config()).await;
    let day = DateRange::day(date(2025, 11, 4));
    for generation in [Generation::V5, Generation::Dc2026] {
        let c = client(&run, generation);
        // PT60M to 06:00, PT30M to 12:00, PT15M to 18:00, PT10M to midnight.
        let r = c.readings(&prm("90000000000011"), Series::ConsumptionCurve, day).send().await.unwrap().readings;
        assert_eq!(r.len(), 6 + 12 + 24 + 36, "{generation}");
        contiguous(&r, day);
        let steps: Vec<i64> = r.iter().map(Reading::step_seconds).collect();
        assert_eq!(steps[0], 3600);
        assert_eq!(steps[6], 1800);
        assert_eq!(steps[18], 900);
        assert_eq!(steps[42], 600);
        // PT10M all day.
        let r = c.readings(&prm("90000000000010"), Series::ConsumptionCurve, day).send().await.unwrap().readings;
        assert_eq!(r.len(), 144);
        contiguous(&r, day);
        // Null values are kept as points without a value.
        let week = DateRange::new(date(2025, 11, 3), date(2025, 11, 10)).unwrap();
        let r = c.readings(&prm("90000000000012"), Series::ConsumptionCurve, week).send().await.unwrap().readings;
        assert_eq!(r.len(), 7 * 48);
        assert!(r.iter().any(|x| x.value.is_none()), "{generation}: no null kept");
        assert!(r.iter().any(|x| x.value.is_some()));
    }
}

#[tokio::test]
async fn long_ranges_are_split_clamped_and_merged() {
    let run = start(support::config()).await;
    let c = client(&run, Generation::Dc2026);
    let meter = prm("22516914714270");
    // Six weeks of curve ending after today: clamped to today, 6 windows.
    let range = DateRange::new(date(2025, 10, 10), date(2025, 12, 1)).unwrap();
    let before = c.stats().calls;
    let f = c.readings(&meter, Series::ConsumptionCurve, range).send().await.unwrap();
    let served = DateRange::new(date(2025, 10, 10), support::TODAY).unwrap();
    assert_eq!(f.served, Some(served));
    assert!(f.clamped.as_deref().unwrap().contains("2025-11-20"));
    contiguous(&f.readings, served);
    assert_eq!(f.readings.len() as i32, served.days() * 48 + 2);
    // One token call plus the minimum number of windows.
    let plan = dataconnect::plan_windows(Series::ConsumptionCurve, range, support::TODAY, None);
    assert_eq!(c.stats().calls - before, 1 + plan.windows.len() as u64);
    // Four years of daily data: clamped to the history deadline, 365-day windows.
    let range = DateRange::new(date(2021, 1, 1), support::TODAY).unwrap();
    let f = c.readings(&meter, Series::ConsumptionDaily, range).send().await.unwrap();
    let deadline = dataconnect::history_deadline(Series::ConsumptionDaily, support::TODAY);
    assert_eq!(f.served.unwrap().start(), deadline);
    assert_eq!(f.readings.len() as i32, DateRange::new(deadline, support::TODAY).unwrap().days());
    assert!(f.clamped.unwrap().contains("36 months"));
    // A range entirely in the future is empty, with a reason, not an error.
    let future = DateRange::new(date(2026, 1, 1), date(2026, 2, 1)).unwrap();
    let f = c.readings(&meter, Series::ConsumptionDaily, future).send().await.unwrap();
    assert!(f.readings.is_empty() && f.served.is_none() && f.clamped.is_some());
}

#[tokio::test]
async fn activation_is_found_by_the_client() {
    // Client 1's meter was activated on 2019-08-27; in January 2020 that
    // is inside the history, so the API refuses earlier days.
    let mut cfg = support::config();
    cfg.today = Some(date(2020, 1, 15));
    let run = start(cfg).await;
    let mut cc = support::client_config(&run, Generation::V5);
    cc.today = Some(date(2020, 1, 15));
    let c = Client::new(cc).unwrap();
    let meter = prm("11453290002823");
    let range = DateRange::new(date(2019, 8, 1), date(2019, 9, 15)).unwrap();
    // One window alone gives the clamp error...
    let e = c
        .window(&meter, Series::ConsumptionCurve, DateRange::new(date(2019, 8, 22), date(2019, 8, 29)).unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::BeforeActivation);
    assert!(e.is_clamp() && !e.is_retryable());
    // ...and a range is served from the activation on.
    for series in [Series::ConsumptionCurve, Series::ConsumptionDaily] {
        let f = c.readings(&meter, series, range).send().await.unwrap();
        let served = DateRange::new(date(2019, 8, 27), date(2019, 9, 15)).unwrap();
        assert_eq!(f.served, Some(served), "{series}");
        assert!(f.clamped.as_deref().unwrap().contains("refused"), "{series}");
        contiguous(&f.readings, served);
    }
    // With the activation date known, no call is spent on refused days.
    let before = c.stats().calls;
    let f = c.readings(&meter, Series::ConsumptionDaily, range).activation(date(2019, 8, 27)).send().await.unwrap();
    assert_eq!(c.stats().calls - before, 1);
    assert!(f.clamped.unwrap().contains("activation"));
    // Generation 3 refuses the same way.
    let mut cc = support::client_config(&run, Generation::Dc2026);
    cc.today = Some(date(2020, 1, 15));
    let c3 = Client::new(cc).unwrap();
    let f = c3.readings(&meter, Series::ConsumptionDaily, range).send().await.unwrap();
    assert_eq!(f.served.unwrap().start(), date(2019, 8, 27));
}

#[tokio::test]
async fn sandbox_clients_behave_as_listed() {
    let run = start(support::config()).await;
    let two_weeks = DateRange::new(date(2025, 11, 3), date(2025, 11, 17)).unwrap();
    for generation in Generation::ALL {
        // Client 2: load curve not collected, daily complete.
        let c = reader(&run, generation, 2).await;
        let m2 = prm("32320647321714");
        let f = c.readings(&m2, Series::ConsumptionCurve, two_weeks).send().await.unwrap();
        assert!(f.readings.is_empty(), "{generation}");
        assert_eq!(f.empty_windows.len(), 2);
        assert_eq!(c.readings(&m2, Series::ConsumptionDaily, two_weeks).send().await.unwrap().readings.len(), 14);
        // Client 4: no data on Tuesdays and Wednesdays.
        let c = reader(&run, generation, 4).await;
        let m4 = prm("42900589957123");
        let r = c.readings(&m4, Series::ConsumptionDaily, two_weeks).send().await.unwrap().readings;
        assert_eq!(r.len(), 10, "{generation}");
        for x in &r {
            let wd = x.start.to_zoned_datetime(dataconnect::domain::paris()).weekday();
            assert!(!matches!(wd, jiff::civil::Weekday::Tuesday | jiff::civil::Weekday::Wednesday));
        }
        let tuesday = DateRange::day(date(2025, 11, 4));
        let e = c.window(&m4, Series::ConsumptionDaily, tuesday).send().await.unwrap_err();
        assert!(e.is_no_data(), "{generation}: {e}");
        // Client 5: production only; consumption stops the series.
        let c = reader(&run, generation, 5).await;
        let m5 = prm("24880057139941");
        let e = c.readings(&m5, Series::ConsumptionDaily, two_weeks).send().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::WrongDirection, "{generation}: {e}");
        assert!(e.stops_series());
        assert!(e.to_string().contains("hourly collection"));
        // Client 8: consent revoked at once. Generation 3 finds no
        // service left for the authorisation; v5 does not get the meter
        // confirmed (ADAM-DC-0008); legacy gets the PRM from the code
        // exchange. Either way its data needs a new consent.
        let c = client(&run, generation);
        let req = c.consent_request("P1Y".parse().unwrap(), Some(8)).unwrap();
        let back = support::browse(&req.url()).await;
        match c.complete_consent(&back, req.state()).await {
            Ok(got) => assert_eq!(got.usage_points, vec![prm("26584978546985")], "{generation}"),
            Err(e) if generation == Generation::Dc2026 => assert_eq!(e.kind(), &ErrorKind::NoSubscribedService, "{e}"),
            Err(e) => assert!(e.needs_consent(), "{generation}: {e}"),
        }
        let e = c.readings(&prm("26584978546985"), Series::ConsumptionDaily, two_weeks).send().await.unwrap_err();
        assert!(e.needs_consent(), "{generation}: {e}");
    }
    // Client 6: self-consumption netting, per interval only one side is non-zero.
    let c = client(&run, Generation::V5);
    let m6 = prm("12655648759651");
    let day = DateRange::day(date(2025, 6, 21));
    let cons = c.readings(&m6, Series::ConsumptionCurve, day).send().await.unwrap().readings;
    let prod = c.readings(&m6, Series::ProductionCurve, day).send().await.unwrap().readings;
    assert_eq!(cons.len(), prod.len());
    for (a, b) in cons.iter().zip(&prod) {
        assert_eq!(a.start, b.start);
        assert!(a.value.unwrap_or(0.0) == 0.0 || b.value.unwrap_or(0.0) == 0.0, "{a:?} {b:?}");
    }
    assert!(prod.iter().any(|x| x.value.unwrap_or(0.0) > 0.0), "a June day produces");
    // Client 3: one consumption and one production meter.
    let got = consent(&c, 3).await;
    let r = c.readings(&got.usage_points[1], Series::ProductionDaily, two_weeks).send().await.unwrap();
    assert_eq!(r.readings.len(), 14);
    // Client 7: three meters, each readable.
    for m in consent(&c, 7).await.usage_points {
        assert_eq!(c.readings(&m, Series::ConsumptionDaily, two_weeks).send().await.unwrap().readings.len(), 14);
    }
}

#[tokio::test]
async fn readings_of_one_window_stay_in_it() {
    let run = start(support::config()).await;
    let c = client(&run, Generation::Dc2026);
    let w = DateRange::new(date(2025, 11, 3), date(2025, 11, 10)).unwrap();
    let r = c.window(&prm("22516914714270"), Series::ConsumptionCurve, w).send().await.unwrap();
    assert_eq!(r.len(), 7 * 48);
    let lo: Timestamp = w.start_instant();
    assert!(r.iter().all(|x| x.start >= lo && x.end <= w.end_instant()));
}

/// The 2026 gateway labels its GET answers `application/octet-stream`
/// (the sandbox's `--octet-stream`): the client reads the same readings,
/// contract and error kinds through it as through `application/json`.
#[tokio::test]
async fn generation_3_through_an_octet_stream_label_reads_the_same() {
    let plain = start(support::config()).await;
    let labelled = start(dataconnect_sandbox::SandboxConfig { octet_stream: true, ..support::config() }).await;
    let meter = prm("22516914714270");
    // (Building a client installs the TLS provider reqwest needs.)
    let (a, b) = (client(&plain, Generation::Dc2026), client(&labelled, Generation::Dc2026));
    // The label is really there, on data and on errors.
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(labelled.base.join("oauth2/v3/token").unwrap())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", dataconnect_sandbox::DEFAULT_CLIENT_ID),
            ("client_secret", dataconnect_sandbox::DEFAULT_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = token["access_token"].as_str().unwrap().to_owned();
    for path in [format!("situation_contrat_auto/v1/{meter}"), "situation_contrat_auto/v1/123".to_owned()] {
        let r = http.get(labelled.base.join(&path).unwrap()).bearer_auth(&bearer).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "application/octet-stream", "{path}: {}", r.status());
    }
    let week = DateRange::new(date(2025, 11, 3), date(2025, 11, 10)).unwrap();
    for series in [Series::ConsumptionCurve, Series::ConsumptionDaily, Series::ConsumptionMaxPower] {
        let x = a.readings(&meter, series, week).send().await.unwrap().readings;
        let y = b.readings(&meter, series, week).send().await.unwrap().readings;
        assert!(!x.is_empty());
        assert_eq!(x, y, "{series}");
    }
    assert_eq!(a.contract(&meter).send().await.unwrap(), b.contract(&meter).send().await.unwrap());
    // An error body under the label still gives its kind (a meter no
    // customer consented for).
    let stranger = prm("12345678901299");
    let (ea, eb) = (
        a.readings(&stranger, Series::ConsumptionDaily, week).send().await.unwrap_err(),
        b.readings(&stranger, Series::ConsumptionDaily, week).send().await.unwrap_err(),
    );
    assert_eq!(ea.kind(), eb.kind(), "{ea} / {eb}");
    assert_eq!(ea.to_string(), eb.to_string());
}
