//! The file readers on files written for the purpose: both DST days, newest
//! first, empty values, a blank step that changes inside a file, malformed
//! lines, and the sheets of a portal workbook.

use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::domain::{paris, paris_day_start};

const PRM: &str = "12345678901234";

fn opts() -> ReadOptions {
    ReadOptions::default()
}

/// End stamps of `step`-minute intervals over the Paris days [a, b), as
/// jiff (not the code under test) formats them.
fn ends(a: Date, b: Date, step: i64, offset: bool) -> Vec<(Timestamp, String)> {
    let (mut t, stop) = (paris_day_start(a), paris_day_start(b));
    let mut out = Vec::new();
    while t < stop {
        t += SignedDuration::from_mins(step);
        let fmt = if offset { "%Y-%m-%dT%H:%M:%S%:z" } else { "%Y-%m-%dT%H:%M:%S" };
        out.push((t, t.to_zoned_datetime(paris()).strftime(fmt).to_string()));
    }
    out
}

fn portal_curve(step: &str, rows: &[String]) -> String {
    format!(
        "\u{feff}Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite;Pas en minutes\n\
         {PRM};Courbe de charge;24/10/2020;27/10/2020;Energie active;Consommation;Comptage Brut;W;{step}\n\n\
         Horodate;Valeur\n{}\n",
        rows.join("\n")
    )
}

fn only(file: &ImportedFile) -> &Part {
    assert_eq!(file.parts.len(), 1, "{file:?}");
    &file.parts[0]
}

fn range(a: Date, b: Date) -> DateRange {
    DateRange::new(a, b).unwrap()
}

#[test]
fn portal_curve_newest_first_blank_step_october_with_offsets() {
    // 24 Oct (partial: from 12:00), 25 Oct (the 25-hour day), 26 Oct whole.
    let all = ends(date(2020, 10, 24), date(2020, 10, 27), 30, true);
    let kept: Vec<_> = all.iter().skip(24).collect();
    let mut rows: Vec<String> = kept
        .iter()
        .enumerate()
        .map(|(i, (_, s))| if i % 7 == 3 { format!("{s};") } else { format!("{s};{i}") })
        .collect();
    rows.reverse();
    let text = portal_curve("", &rows);
    assert_eq!(Format::detect("Enedis_Conso_Heure_20201024-20201027_x.csv", text.as_bytes()), Some(Format::PortalCsv));
    let file = read_text(Format::PortalCsv, "x.csv", text.as_bytes(), &opts()).unwrap();
    let part = only(&file);
    assert_eq!(part.series, Series::ConsumptionCurve);
    assert_eq!(part.prm.as_str(), PRM);
    assert_eq!(part.readings.len(), 24 + 50 + 48);
    let on_25 =
        part.readings.iter().filter(|r| r.start.to_zoned_datetime(paris()).date() == date(2020, 10, 25)).count();
    assert_eq!(on_25, 50);
    for (r, (end, _)) in part.readings.iter().zip(kept.iter()) {
        assert_eq!(r.end, *end);
        assert_eq!(r.step_seconds(), 1800);
    }
    assert_eq!(part.readings[3].value, None);
    assert_eq!(part.readings[4].value, Some(4.0));
    assert_eq!(part.covered, vec![range(date(2020, 10, 25), date(2020, 10, 27))]);
    assert_eq!(part.partial_days, vec![date(2020, 10, 24)]);
    assert_eq!(part.days(), Some((date(2020, 10, 24), date(2020, 10, 26))));
}

#[test]
fn local_stamps_on_both_dst_days_are_placed_by_order() {
    for (a, b, count) in [(date(2025, 3, 30), date(2025, 3, 31), 46), (date(2025, 10, 26), date(2025, 10, 27), 50)] {
        let all = ends(a, b, 30, false);
        let rows: Vec<String> = all.iter().map(|(_, s)| format!("{s};100")).collect();
        let text = portal_curve("30", &rows);
        let part = read_text(Format::PortalCsv, "x.csv", text.as_bytes(), &opts()).unwrap().parts.remove(0);
        assert_eq!(part.readings.len(), count);
        let got: Vec<Timestamp> = part.readings.iter().map(|r| r.end).collect();
        let want: Vec<Timestamp> = all.iter().map(|(t, _)| *t).collect();
        assert_eq!(got, want, "{a}");
        assert_eq!(part.covered, vec![range(a, b)]);
        // The same rows newest first place the same way.
        let mut rev = rows.clone();
        rev.reverse();
        let text = portal_curve("", &rev);
        let again = read_text(Format::PortalCsv, "x.csv", text.as_bytes(), &opts()).unwrap().parts.remove(0);
        assert_eq!(again.readings, part.readings, "{a} newest first");
    }
}

#[test]
fn blank_step_changing_inside_the_file() {
    // 30-minute points until noon, then 10-minute ones.
    let day = date(2024, 5, 6);
    let mut rows = Vec::new();
    let mut want = Vec::new();
    for (t, s) in ends(day, day.tomorrow().unwrap(), 30, true) {
        if t <= paris_day_start(day) + SignedDuration::from_hours(12) {
            rows.push(format!("{s};500"));
            want.push(1800);
        }
    }
    for (t, s) in ends(day, day.tomorrow().unwrap(), 10, true) {
        if t > paris_day_start(day) + SignedDuration::from_hours(12) {
            rows.push(format!("{s};600"));
            want.push(600);
        }
    }
    let text = portal_curve("", &rows);
    let part = read_text(Format::PortalCsv, "x.csv", text.as_bytes(), &opts()).unwrap().parts.remove(0);
    let steps: Vec<i64> = part.readings.iter().map(Reading::step_seconds).collect();
    assert_eq!(steps, want);
    assert_eq!(part.covered, vec![range(day, day.tomorrow().unwrap())]);
}

#[test]
fn a_gap_leaves_its_day_uncovered_and_repeats_are_reported() {
    let all = ends(date(2024, 1, 1), date(2024, 1, 3), 30, true);
    let mut rows: Vec<String> = all.iter().map(|(_, s)| format!("{s};1")).collect();
    rows.remove(10);
    rows.insert(20, rows[19].clone());
    let part =
        read_text(Format::PortalCsv, "x.csv", portal_curve("", &rows).as_bytes(), &opts()).unwrap().parts.remove(0);
    assert_eq!(part.readings.len(), 95);
    assert_eq!(part.covered, vec![range(date(2024, 1, 2), date(2024, 1, 3))]);
    assert_eq!(part.partial_days, vec![date(2024, 1, 1)]);
    assert_eq!(part.skipped.len(), 1);
    assert_eq!(part.skipped[0].rows, 1);
    assert_eq!(part.skipped[0].first_line, 24);
}

#[test]
fn portal_daily_and_max_power_files() {
    let daily = "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite;Pas en minutes\n\
        12345678901234;Energie journaliere;01/03/2025;03/04/2025;Energie active;Consommation;Comptage Brut;Wh;\n\
        Horodate;Valeur\n2025-03-29T00:00:00+01:00;9000\n2025-03-30T00:00:00+01:00;8000\n2025-03-31T00:00:00+02:00;\n";
    let part = read_text(Format::PortalCsv, "d.csv", daily.as_bytes(), &opts()).unwrap().parts.remove(0);
    assert_eq!(part.series, Series::ConsumptionDaily);
    assert_eq!(part.readings.len(), 3);
    assert_eq!(part.readings[1].start, paris_day_start(date(2025, 3, 30)));
    assert_eq!(part.readings[1].end, paris_day_start(date(2025, 3, 31)));
    assert_eq!(part.readings[2].value, None);
    assert_eq!(part.covered, vec![range(date(2025, 3, 29), date(2025, 4, 1))]);

    let max = "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite;Pas en minutes\n\
        12345678901234;Puissance maximale;01/10/2025;03/11/2025;Puissance apparente;Consommation;Comptage Brut;VA;\n\
        Horodate;Valeur\n2025-10-26T02:10:00+01:00;6520\n2025-10-27T19:02:31+01:00;7000\n";
    let part = read_text(Format::PortalCsv, "m.csv", max.as_bytes(), &opts()).unwrap().parts.remove(0);
    assert_eq!(part.series, Series::ConsumptionMaxPower);
    assert_eq!(part.readings[0].peak_at, Some("2025-10-26T01:10:00Z".parse().unwrap()));
    assert_eq!(part.readings[0].start, paris_day_start(date(2025, 10, 26)));
    assert_eq!(part.readings[1].value, Some(7000.0));
}

#[test]
fn index_files_are_refused_as_not_supported_yet() {
    let text = "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite\n\
        12345678901234;Index;01/09/2018;21/08/2020;Energie active;Consommation;Comptage Brut;Wh\n\
        Horodate;Type de releve;EAS F1;EAS F2;EAS T\n";
    let e = read_text(Format::PortalCsv, "i.csv", text.as_bytes(), &opts()).unwrap_err();
    assert_eq!(e.kind(), ImportErrorKind::Unsupported);
    assert!(e.to_string().contains("not supported yet"), "{e}");
}

#[test]
fn malformed_lines_are_named_with_their_fix() {
    let rows = ["2020-10-26T00:30:00+01:00;10".to_owned(), "2020-10-26T01:00:00+01:00;abc".to_owned()];
    let e = read_text(Format::PortalCsv, "x.csv", portal_curve("30", &rows).as_bytes(), &opts()).unwrap_err();
    assert_eq!(e.kind(), ImportErrorKind::Malformed);
    assert_eq!(e.at(), Some("line 6"));
    assert!(e.to_string().contains("\"abc\""), "{e}");
    let rows = ["2020-13-26T00:30:00+01:00;10".to_owned()];
    let e = read_text(Format::PortalCsv, "x.csv", portal_curve("30", &rows).as_bytes(), &opts()).unwrap_err();
    assert_eq!(e.at(), Some("line 5"));
    assert!(e.to_string().contains("time stamp"), "{e}");
    // A blank step and one isolated row cannot be placed.
    let rows = ["2020-10-26T00:30:00+01:00;10".to_owned(), "2020-10-26T05:30:00+01:00;10".to_owned()];
    let e = read_text(Format::PortalCsv, "x.csv", portal_curve("", &rows).as_bytes(), &opts()).unwrap_err();
    assert!(e.to_string().contains("Pas en minutes"), "{e}");
    // A repeated first row does not hide its neighbour's step.
    let rows = [
        "2020-10-25T02:30:00+01:00;3".to_owned(),
        "2020-10-25T02:00:00+01:00;2".to_owned(),
        "2020-10-25T02:30:00+02:00;1".to_owned(),
        "2020-10-25T02:30:00+02:00;1".to_owned(),
    ];
    let part =
        read_text(Format::PortalCsv, "x.csv", portal_curve("", &rows).as_bytes(), &opts()).unwrap().parts.remove(0);
    assert_eq!(part.readings.len(), 3);
    assert!(part.readings.iter().all(|r| r.step_seconds() == 1800));
    assert_eq!((part.skipped[0].rows, part.skipped[0].first_line), (1, 7));
    // Overlapping intervals name both lines.
    let rows = ["2020-10-26T01:00:00+01:00;10".to_owned(), "2020-10-26T01:30:00+01:00;10".to_owned()];
    let e = read_text(Format::PortalCsv, "x.csv", portal_curve("60", &rows).as_bytes(), &opts()).unwrap_err();
    assert!(e.to_string().contains("line 5"), "{e}");
}

#[test]
fn conso_downloader_both_dst_days() {
    let mut text = String::from("debut;fin;kW\n");
    let mut want = Vec::new();
    for (a, b) in [(date(2023, 3, 26), date(2023, 3, 27)), (date(2023, 10, 29), date(2023, 10, 30))] {
        let mut prev = paris_day_start(a);
        for (t, _) in ends(a, b, 30, false) {
            let f = |x: Timestamp| x.to_zoned_datetime(paris()).strftime("%Y-%m-%dT%H:%M").to_string();
            text.push_str(&format!("{};{};\"0,696\"\n", f(prev), f(t)));
            want.push((prev, t));
            prev = t;
        }
    }
    let name = "historique_prod_12345678901234_2023-11-01.csv";
    assert_eq!(Format::detect(name, text.as_bytes()), Some(Format::ConsoDownloader));
    let part = read_text(Format::ConsoDownloader, name, text.as_bytes(), &opts()).unwrap().parts.remove(0);
    assert_eq!(part.series, Series::ProductionCurve);
    assert_eq!(part.prm.as_str(), PRM);
    let got: Vec<(Timestamp, Timestamp)> = part.readings.iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(got, want);
    assert_eq!(part.readings[0].value, Some(696.0));
    assert_eq!(
        part.covered,
        vec![range(date(2023, 3, 26), date(2023, 3, 27)), range(date(2023, 10, 29), date(2023, 10, 30))]
    );
    // Renamed, the file no longer says its meter.
    let e = read_text(Format::ConsoDownloader, "download.csv", text.as_bytes(), &opts()).unwrap_err();
    assert_eq!(e.kind(), ImportErrorKind::MissingPrm);
    let with_prm = ReadOptions { prm: Some(UsagePointId::new(PRM).unwrap()), series: None };
    let part = read_text(Format::ConsoDownloader, "download.csv", text.as_bytes(), &with_prm).unwrap().parts.remove(0);
    assert_eq!(part.series, Series::ConsumptionCurve);
}

#[test]
fn overrides_must_fit_the_file() {
    let rows = ["2020-10-26T00:30:00+01:00;10".to_owned(), "2020-10-26T01:00:00+01:00;10".to_owned()];
    let text = portal_curve("30", &rows);
    let o = ReadOptions { prm: None, series: Some(Series::ConsumptionDaily) };
    let e = read_text(Format::PortalCsv, "x.csv", text.as_bytes(), &o).unwrap_err();
    assert_eq!(e.kind(), ImportErrorKind::Override);
    let o =
        ReadOptions { prm: Some(UsagePointId::new("98765432109876").unwrap()), series: Some(Series::ProductionCurve) };
    let part = read_text(Format::PortalCsv, "x.csv", text.as_bytes(), &o).unwrap().parts.remove(0);
    assert_eq!((part.prm.as_str(), part.series), ("98765432109876", Series::ProductionCurve));
    assert!("xlsx".parse::<Format>().is_err());
    assert_eq!("enedis-xlsx".parse::<Format>().unwrap(), Format::PortalXlsx);
}

#[test]
fn export_csv_and_jsonl_rebuild_readings_exactly() {
    let csv = "usage_point_id,series,start,end,value,unit,step,energy_wh,peak_at\n\
        12345678901234,consumption-max-power,2025-10-26T00:00:00+02:00,2025-10-27T00:00:00+01:00,6520,VA,P1D,,2025-10-26T02:10:00+01:00\n\
        12345678901234,consumption-curve,2025-10-26T02:30:00+01:00,2025-10-26T03:00:00+01:00,0.5,W,PT30M,0.25,\n\
        12345678901234,consumption-curve,2025-10-26T02:30:00+02:00,2025-10-26T02:00:00+01:00,,W,PT30M,,\n";
    assert_eq!(Format::detect("e.csv", csv.as_bytes()), Some(Format::ExportCsv));
    let file = read_text(Format::ExportCsv, "e.csv", csv.as_bytes(), &opts()).unwrap();
    assert_eq!(file.parts.len(), 2);
    let curve = &file.parts[0];
    assert_eq!(curve.series, Series::ConsumptionCurve);
    assert_eq!(curve.readings[0].start, "2025-10-26T00:30:00Z".parse().unwrap());
    assert_eq!(curve.readings[0].value, None);
    assert!(curve.covered.is_empty());
    let max = &file.parts[1];
    assert_eq!(max.covered, vec![range(date(2025, 10, 26), date(2025, 10, 27))]);
    assert_eq!(max.readings[0].peak_at, Some("2025-10-26T01:10:00Z".parse().unwrap()));
    let jsonl = "{\"usage_point_id\":\"12345678901234\",\"series\":\"production-daily\",\"start\":\"2025-01-01T00:00:00+01:00\",\"end\":\"2025-01-02T00:00:00+01:00\",\"value\":1.5,\"unit\":\"Wh\",\"step\":\"P1D\",\"energy_wh\":null,\"peak_at\":null}\n";
    assert_eq!(Format::detect("e.jsonl", jsonl.as_bytes()), Some(Format::ExportJsonl));
    let part = read_text(Format::ExportJsonl, "e", jsonl.as_bytes(), &opts()).unwrap().parts.remove(0);
    assert_eq!(part.readings[0].value, Some(1.5));
    let bad = jsonl.replace("\"Wh\"", "\"W\"");
    let e = read_text(Format::ExportJsonl, "e", bad.as_bytes(), &opts()).unwrap_err();
    assert_eq!(e.at(), Some("line 1"));
}

fn t(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

#[test]
fn portal_workbook_tables_are_found_by_their_names() {
    let mut hourly = vec![
        vec![t("Export de données de consommation")],
        vec![t("Identifiant PRM"), t(PRM)],
        vec![],
        vec![t("Plage horaire")],
        vec![t("Début"), t("Fin"), t("Valeur (en kW)")],
    ];
    // 30 October 2022 is the 25-hour day; rows as text and as date cells.
    let day = date(2022, 10, 30);
    let mut prev = paris_day_start(day);
    for (i, (end, _)) in ends(day, day.tomorrow().unwrap(), 30, false).into_iter().enumerate() {
        let f = |x: Timestamp| x.to_zoned_datetime(paris()).strftime("%d/%m/%Y %H:%M:%S").to_string();
        let serial = |x: Timestamp| {
            let local = x.to_zoned_datetime(paris()).datetime();
            let secs = local.to_zoned_datetime(jiff::tz::TimeZone::UTC).unwrap().timestamp().as_second();
            secs as f64 / 86_400.0 + 25_569.0
        };
        let row = if i % 2 == 0 {
            vec![t(&f(prev)), t(&f(end)), t("4,030")]
        } else {
            vec![Cell::DateTime(serial(prev)), Cell::DateTime(serial(end)), Cell::Number(4.03)]
        };
        hourly.push(row);
        prev = end;
    }
    hourly.push(vec![t("Total"), Cell::Empty, Cell::Number(100.0)]);
    let daily = vec![
        vec![t("Export Consommation Quotidienne")],
        vec![t("Date"), t("Valeur (en kWh)")],
        vec![t("29/10/2022"), t("12,5")],
        vec![t("30/10/2022"), Cell::Number(13.0)],
    ];
    let sheets = vec![
        Sheet { name: "Consommation Horaire".into(), rows: hourly },
        Sheet { name: "Export Consommation Quotidienne".into(), rows: daily },
        Sheet { name: "Notes".into(), rows: vec![vec![t("rien")]] },
    ];
    let name = format!("{PRM}_Export_energie_Consommation_30102022-31102022.xlsx");
    let file = read_workbook(&name, &sheets, &opts()).unwrap();
    assert_eq!(file.parts.len(), 2);
    let curve = &file.parts[0];
    assert_eq!(curve.series, Series::ConsumptionCurve);
    assert_eq!(curve.readings.len(), 50);
    assert!(curve.readings.iter().all(|r| r.value == Some(4030.0) && r.step_seconds() == 1800));
    assert_eq!(curve.covered, vec![range(day, day.tomorrow().unwrap())]);
    assert_eq!(curve.skipped[0].first_line, 56);
    let daily = &file.parts[1];
    assert_eq!(daily.series, Series::ConsumptionDaily);
    assert_eq!(daily.readings[0].value, Some(12_500.0));
    assert_eq!(file.notes.len(), 1);
    // A row that cannot be read names its sheet and row.
    let mut broken = sheets;
    broken[0].rows[7][2] = t("4;03");
    let e = read_workbook(&name, &broken, &opts()).unwrap_err();
    assert_eq!(e.at(), Some("sheet \"Consommation Horaire\", row 8"));
}

#[test]
fn hostile_input_never_panics() {
    for text in [
        "",
        "\u{feff}",
        "Identifiant PRM",
        "Identifiant PRM\n;;;;;;;;\nHorodate;Valeur\n;\n",
        "debut;fin;kW\n;;\n",
        "[",
        "{",
    ] {
        for f in Format::ALL {
            let _ = read_text(f, "historique_conso_12345678901234_x.csv", text.as_bytes(), &opts());
        }
    }
    let _ = read_workbook(
        "x.xlsx",
        &[Sheet {
            name: "s".into(),
            rows: vec![
                vec![t("Début"), t("Fin"), t("Valeur (en kW)")],
                vec![Cell::DateTime(f64::MAX), Cell::Number(f64::NAN)],
            ],
        }],
        &opts(),
    );
}

mod props {
    //! Random curves written as the portal does (any step, both DST days,
    //! oldest or newest first, with or without offsets, rows missing when
    //! offsets say where they go) are read back exactly, and exactly their
    //! complete days are covered.

    use super::*;
    use proptest::prelude::*;

    /// Days around both DST changes of 2024 and 2025, and ordinary ones.
    fn first_day() -> impl Strategy<Value = Date> {
        prop_oneof![
            Just(date(2024, 3, 30)),
            Just(date(2024, 10, 26)),
            Just(date(2025, 3, 29)),
            Just(date(2025, 10, 25)),
            (0i64..700).prop_map(|n| date(2024, 1, 1).checked_add(jiff::Span::new().days(n)).unwrap()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn curves_read_back_exactly(
            first in first_day(),
            days in 1i64..4,
            step in prop_oneof![Just(10i64), Just(15), Just(30), Just(60)],
            offset in any::<bool>(),
            newest_first in any::<bool>(),
            drops in proptest::collection::vec(0usize..600, 0..4),
        ) {
            let last = first.checked_add(jiff::Span::new().days(days)).unwrap();
            let all = ends(first, last, step, offset);
            // Rows may go missing only where their offsets still place the others.
            let dropped: Vec<usize> = if offset { drops.iter().map(|d| d % all.len()).collect() } else { Vec::new() };
            let kept: Vec<&(Timestamp, String)> =
                all.iter().enumerate().filter(|(i, _)| !dropped.contains(i)).map(|(_, r)| r).collect();
            let mut rows: Vec<String> = kept.iter().map(|(_, s)| format!("{s};7")).collect();
            if newest_first {
                rows.reverse();
            }
            let text = portal_curve(&step.to_string(), &rows);
            let file = read_text(Format::PortalCsv, "p.csv", text.as_bytes(), &opts()).unwrap();
            let part = &file.parts[0];
            let got: Vec<Timestamp> = part.readings.iter().map(|r| r.end).collect();
            let want: Vec<Timestamp> = kept.iter().map(|(t, _)| *t).collect();
            prop_assert_eq!(got, want);
            prop_assert!(part.readings.iter().all(|r| r.step_seconds() == step * 60));
            // Covered: every day none of whose rows was dropped.
            let touched: Vec<Date> = dropped
                .iter()
                .map(|&i| (all[i].0 - SignedDuration::from_mins(step)).to_zoned_datetime(paris()).date())
                .collect();
            let mut day = first;
            let mut covered_days = Vec::new();
            while day < last {
                if !touched.contains(&day) {
                    covered_days.push(day);
                }
                day = day.tomorrow().unwrap();
            }
            let got_days: Vec<Date> = part.covered.iter().flat_map(|r| r.iter_days().collect::<Vec<_>>()).collect();
            prop_assert_eq!(got_days, covered_days);
        }
    }
}
