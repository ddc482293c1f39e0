//! `dataconnect import FILE…` end to end, on files written for the purpose:
//! what it stores and records as covered (real SQLite files, and the real
//! PostgreSQL when `DATACONNECT_TEST_PG_URL` is set), idempotence, the
//! round trip `export` → `import` → `export`, a malformed file among good
//! ones, a sync that skips the imported days, and a portal XLSX workbook
//! built in the test.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use dataconnect::domain::{paris, paris_day_start};
use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};

use crate::{CONSUMER, bare, consent, data_requests, dataconnect, run_ok, sandbox};

/// A portal load-curve CSV of `prm` over the Paris days [a, b), newest
/// first, blank step, every 13th value empty.
fn portal_curve(prm: &str, a: Date, b: Date) -> String {
    let mut rows = Vec::new();
    let (mut t, stop) = (paris_day_start(a), paris_day_start(b));
    let mut i = 0;
    while t < stop {
        t += SignedDuration::from_mins(30);
        let stamp = t.to_zoned_datetime(paris()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
        rows.push(if i % 13 == 5 { format!("{stamp};") } else { format!("{stamp};{}", 200 + i % 400) });
        i += 1;
    }
    rows.reverse();
    format!(
        "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite;Pas en minutes\n\
         {prm};Courbe de charge;{};{};Energie active;Consommation;Comptage Brut;W;\n\nHorodate;Valeur\n{}\n",
        a.strftime("%d/%m/%Y"),
        b.strftime("%d/%m/%Y"),
        rows.join("\n")
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The binary without a sandbox: only the database.
fn cli(dir: &Path, db: &Path) -> std::process::Command {
    let mut cmd = bare(dir);
    cmd.env("DATACONNECT_DB", db);
    cmd
}

/// (readings, sum of values, coverage rows) of an SQLite store.
#[allow(clippy::type_complexity)]
fn contents(db: &Path) -> (i64, f64, Vec<(String, String, String, String)>) {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let (n, sum) = conn
        .query_row("SELECT count(*), coalesce(sum(value), 0) FROM reading", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let mut stmt =
        conn.prepare("SELECT usage_point_id, series, start_day, end_day FROM coverage ORDER BY 1, 2, 3").unwrap();
    let cov =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect();
    (n, sum, cov)
}

fn cov(series: &str, a: &str, b: &str) -> (String, String, String, String) {
    (CONSUMER.to_owned(), series.to_owned(), a.to_owned(), b.to_owned())
}

#[test]
fn a_portal_csv_is_stored_once_with_its_complete_days_covered() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    // From noon on 24 October 2026 (a partial day) through the 25-hour day.
    let full = portal_curve(CONSUMER, date(2026, 10, 24), date(2026, 10, 27));
    let lines: Vec<&str> = full.lines().collect();
    let text = lines[..lines.len() - 24].join("\n");
    let file = write(dir.path(), "Enedis_Conso_Heure_20261024-20261027_12345678901234.csv", &text);

    let dry = run_ok(cli(dir.path(), &db).args(["import", "--dry-run"]).arg(&file));
    assert!(dry.contains("dry run"), "{dry}");
    assert!(!db.exists(), "a dry run created the store");

    let out = run_ok(cli(dir.path(), &db).arg("import").arg(&file));
    assert!(out.contains("(enedis-csv): imported"), "{out}");
    assert!(out.contains("12345678901234 consumption-curve: 122 points, 2026-10-24 to 2026-10-26, 2 day(s) covered (2026-10-25 to 2026-10-26)"), "{out}");
    assert!(out.contains("1 partial day(s) kept but not marked covered (sync fills them): 2026-10-24"), "{out}");
    let first = contents(&db);
    assert_eq!(first.0, 122);
    assert_eq!(first.2, vec![cov("consumption-curve", "2026-10-25", "2026-10-27")]);
    // Importing again changes nothing.
    run_ok(cli(dir.path(), &db).arg("import").arg(&file));
    assert_eq!(contents(&db), first);
    // The export shows the 25-hour day as 50 touching half-hours, and the
    // empty values as null.
    let jsonl = run_ok(cli(dir.path(), &db).args([
        "export",
        "--format",
        "jsonl",
        "--from",
        "2026-10-25",
        "--to",
        "2026-10-26",
    ]));
    let rows: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 50);
    assert!(rows.windows(2).all(|w| w[0]["end"] == w[1]["start"]));
    assert!(rows.iter().any(|r| r["value"].is_null()));
}

#[test]
fn a_malformed_file_stores_nothing_and_the_others_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let good = write(dir.path(), "good.csv", &portal_curve(CONSUMER, date(2026, 3, 28), date(2026, 3, 30)));
    let text = portal_curve("98765432109876", date(2026, 3, 28), date(2026, 3, 30)).replacen(";2", ";2x", 3);
    let bad = write(dir.path(), "bad.csv", &text);
    let index = write(
        dir.path(),
        "index.csv",
        "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite\n\
         12345678901234;Index;01/09/2018;21/08/2020;Energie active;Consommation;Comptage Brut;Wh\n",
    );
    let out = cli(dir.path(), &db).arg("import").arg(&bad).arg(&good).arg(&index).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("bad.csv: enedis-csv (malformed, nothing stored): line 5: cannot read the value \"2x"),
        "{err}"
    );
    assert!(lines[0].contains("write a number"), "{err}");
    assert!(lines[1].contains("index.csv") && lines[1].contains("not supported yet"), "{err}");
    assert!(stdout.contains("good.csv (enedis-csv): imported"), "{stdout}");
    // 28 March (48) and the 23-hour 29 March (46); only the good meter.
    let (n, _, coverage) = contents(&db);
    assert_eq!(n, 94);
    assert_eq!(coverage, vec![cov("consumption-curve", "2026-03-28", "2026-03-30")]);
    // Unknown content is named as such; --format and --series are checked.
    let junk = write(dir.path(), "junk.txt", "hello\n");
    let out = cli(dir.path(), &db).arg("import").arg(&junk).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
    let out = cli(dir.path(), &db).args(["import", "--format", "xls"]).arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = cli(dir.path(), &db).args(["import", "--series", "consumption-daily"]).arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("same kind"));
    assert_eq!(contents(&db).0, 94);
}

#[test]
fn sync_skips_the_days_an_import_covered() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    consent(dir.path(), &sb, &db);
    let file = write(dir.path(), "june.csv", &portal_curve(CONSUMER, date(2026, 6, 1), date(2026, 6, 8)));
    run_ok(dataconnect(dir.path(), &sb, &db).arg("import").arg(&file));
    let before = data_requests(&sb.log).len();
    let args =
        ["sync", "--prm", CONSUMER, "--series", "consumption-curve", "--since", "2026-06-01", "--until", "2026-06-15"];
    run_ok(dataconnect(dir.path(), &sb, &db).args(args));
    let calls: Vec<_> = data_requests(&sb.log)[before..]
        .iter()
        .filter(|c| c["path"].as_str().unwrap_or_default().contains("courbe_de_charge"))
        .cloned()
        .collect();
    assert!(!calls.is_empty());
    for call in &calls {
        let query = call["query"].as_str().unwrap_or_default();
        assert!(!query.contains("2026-06-01"), "the imported days were fetched again: {call}");
        assert!(query.contains("2026-06-08"), "{call}");
    }
    let (_, _, coverage) = contents(&db);
    assert!(coverage.contains(&cov("consumption-curve", "2026-06-01", "2026-06-15")), "{coverage:?}");
}

/// Syncs every series of sandbox client 3 around both DST days of 2026.
fn synced_store(dir: &Path) -> PathBuf {
    let sb = sandbox(dir, |_| {});
    let db = dir.join("api.db");
    consent(dir, &sb, &db);
    for (since, until) in [("2026-03-27", "2026-04-01"), ("2026-10-23", "2026-10-28")] {
        let series = "consumption-curve,consumption-daily,consumption-max-power";
        run_ok(
            dataconnect(dir, &sb, &db)
                .args(["sync", "--prm", CONSUMER, "--series", series, "--since", since, "--until", until]),
        );
    }
    db
}

fn export(dir: &Path, db: &Path, format: &str, out: &Path) -> String {
    run_ok(cli(dir, db).args(["export", "--format", format, "--out"]).arg(out));
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn export_import_export_gives_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let api = synced_store(dir.path());
    for format in ["csv", "jsonl", "json"] {
        let first = export(dir.path(), &api, format, &dir.path().join(format!("first.{format}")));
        assert!(first.contains("consumption-max-power") && first.contains("consumption-curve"), "{format}");
        let copy = dir.path().join(format!("copy-{format}.db"));
        let out = run_ok(cli(dir.path(), &copy).arg("import").arg(dir.path().join(format!("first.{format}"))));
        assert!(out.contains(&format!("({format}): imported")), "{out}");
        let second = export(dir.path(), &copy, format, &dir.path().join(format!("second.{format}")));
        assert_eq!(first, second, "{format} round trip");
        // Every imported day was covered by the sync too.
        let (_, _, imported) = contents(&copy);
        let (_, _, synced) = contents(&api);
        assert!(imported.iter().any(|c| c.1 == "consumption-curve" && c.2 == "2026-10-23"), "{imported:?}");
        for c in &imported {
            assert!(
                synced.iter().any(|s| s.0 == c.0 && s.1 == c.1 && s.2 <= c.2 && c.3 <= s.3),
                "{c:?} not in {synced:?}"
            );
        }
    }
}

#[cfg(feature = "postgres")]
#[test]
fn export_import_export_through_postgresql_gives_identical_files() {
    // Fails without a server unless DATACONNECT_SKIP_PG=1, as every
    // PostgreSQL test does.
    let Some(base) = dataconnect_testkit::pg::url("export_import_export_through_postgresql_gives_identical_files")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let api = synced_store(dir.path());
    let schema = crate::serve::PgSchema::new(&base, "import");
    let pg = PathBuf::from(&schema.url);
    let first = export(dir.path(), &api, "csv", &dir.path().join("first.csv"));
    run_ok(cli(dir.path(), &pg).arg("import").arg(dir.path().join("first.csv")));
    // Twice: the second import changes nothing.
    run_ok(cli(dir.path(), &pg).arg("import").arg(dir.path().join("first.csv")));
    let second = export(dir.path(), &pg, "csv", &dir.path().join("second.csv"));
    assert_eq!(first, second);
    let status = run_ok(cli(dir.path(), &pg).args(["status"]));
    assert!(status.contains(CONSUMER), "{status}");
}

/// A minimal XLSX workbook: the parts a reader needs, stored uncompressed,
/// inline strings, numbers, and date cells styled with the built-in
/// date-time format 22.
fn xlsx(path: &Path, sheets: &[(&str, Vec<Vec<XCell>>)]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut put = |name: &str, body: String| {
        zip.start_file(name, opts).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    };
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#,
    );
    let mut book = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#,
    );
    for (i, (name, rows)) in sheets.iter().enumerate() {
        let n = i + 1;
        types.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#));
        book.push_str(&format!(r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#));
        rels.push_str(&format!(r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#));
        let mut data = String::new();
        for (r, row) in rows.iter().enumerate() {
            data.push_str(&format!(r#"<row r="{}">"#, r + 1));
            for (c, cell) in row.iter().enumerate() {
                let at = format!("{}{}", (b'A' + c as u8) as char, r + 1);
                match cell {
                    XCell::Text(t) => data.push_str(&format!(r#"<c r="{at}" t="inlineStr"><is><t>{t}</t></is></c>"#)),
                    XCell::Number(v) => data.push_str(&format!(r#"<c r="{at}"><v>{v}</v></c>"#)),
                    XCell::Date(v) => data.push_str(&format!(r#"<c r="{at}" s="1"><v>{v}</v></c>"#)),
                }
            }
            data.push_str("</row>");
        }
        put(
            &format!("xl/worksheets/sheet{n}.xml"),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{data}</sheetData></worksheet>"#
            ),
        );
    }
    types.push_str("</Types>");
    book.push_str("</sheets></workbook>");
    rels.push_str("</Relationships>");
    put("[Content_Types].xml", types);
    put(
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned(),
    );
    put("xl/workbook.xml", book);
    put("xl/_rels/workbook.xml.rels", rels);
    put(
        "xl/styles.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="22" applyNumberFormat="1"/></cellXfs></styleSheet>"#.to_owned(),
    );
    zip.finish().unwrap();
}

enum XCell {
    Text(String),
    Number(f64),
    Date(f64),
}

fn text(s: &str) -> XCell {
    XCell::Text(s.to_owned())
}

/// The spreadsheet serial of a Paris wall-clock time.
fn serial(t: Timestamp) -> f64 {
    let local = t.to_zoned_datetime(paris()).datetime().to_zoned_datetime(jiff::tz::TimeZone::UTC).unwrap().timestamp();
    local.as_second() as f64 / 86_400.0 + 25_569.0
}

#[test]
fn a_portal_workbook_is_read_from_its_sheets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    // 29 March 2026 (23 hours), half-hours: text rows, then date cells.
    let mut hourly = vec![
        vec![text("Export de vos données de consommation")],
        vec![text("Identifiant du point de livraison"), text(CONSUMER)],
        vec![],
        vec![text("Plage horaire")],
        vec![text("Début"), text("Fin"), text("Valeur (en kW)")],
    ];
    let (mut t, stop) = (paris_day_start(date(2026, 3, 29)), paris_day_start(date(2026, 3, 30)));
    let mut i = 0;
    while t < stop {
        let end = t + SignedDuration::from_mins(30);
        let f = |x: Timestamp| x.to_zoned_datetime(paris()).strftime("%d/%m/%Y %H:%M:%S").to_string();
        hourly.push(if i < 20 {
            vec![text(&f(t)), text(&f(end)), text("4,030")]
        } else {
            vec![XCell::Date(serial(t)), XCell::Date(serial(end)), XCell::Number(0.5)]
        });
        t = end;
        i += 1;
    }
    let daily = vec![
        vec![text("Export Consommation Quotidienne")],
        vec![text("Date"), text("Valeur (en kWh)")],
        vec![text("28/03/2026"), text("12,5")],
        vec![text("29/03/2026"), XCell::Number(13.25)],
    ];
    let path = dir.path().join(format!("{CONSUMER}_Export_energie_Consommation_28032026-30032026.xlsx"));
    xlsx(&path, &[("Consommation Horaire", hourly), ("Export Consommation Quotidienne", daily)]);
    let out = run_ok(cli(dir.path(), &db).arg("import").arg(&path));
    assert!(out.contains("(enedis-xlsx): imported"), "{out}");
    assert!(out.contains("consumption-curve: 46 points, 2026-03-29 to 2026-03-29, 1 day(s) covered"), "{out}");
    assert!(out.contains("consumption-daily: 2 points, 2026-03-28 to 2026-03-29, 2 day(s) covered"), "{out}");
    let csv = run_ok(cli(dir.path(), &db).args(["export", "--series", "consumption-curve"]));
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 46);
    assert!(rows[0].contains("2026-03-29T00:00:00+01:00,2026-03-29T00:30:00+01:00,4030,W"), "{}", rows[0]);
    assert!(rows[45].contains("2026-03-29T23:30:00+02:00,2026-03-30T00:00:00+02:00,500,W"), "{}", rows[45]);
    let daily = run_ok(cli(dir.path(), &db).args(["export", "--series", "consumption-daily"]));
    assert!(daily.contains(",12500,Wh,P1D"), "{daily}");
    // A renamed workbook needs --prm.
    let renamed = dir.path().join("export.xlsx");
    std::fs::copy(&path, &renamed).unwrap();
    let out = cli(dir.path(), &db).arg("import").arg(&renamed).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--prm"));
    run_ok(cli(dir.path(), &db).args(["import", "--prm", CONSUMER]).arg(&renamed));
    assert_eq!(contents(&db).0, 48);
}
