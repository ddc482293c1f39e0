//! `dataconnect plot` on a store filled by `dataconnect demo`: SVG, PNG and
//! terminal charts, and the one-line errors for bad input.

use crate::spawned::{DEMO_CONSUMPTION, DEMO_PRODUCTION, dataconnect, demo, run, run_ok};

#[test]
fn demo_writes_svg_and_png_charts_per_meter() {
    let demo = demo();
    let charts: Vec<&str> = demo.stdout.lines().filter_map(|l| l.strip_prefix("chart: ")).collect();
    // Two meters, one curve and one daily series each, SVG and PNG.
    assert_eq!(charts.len(), 8, "{}", demo.stdout);
    for name in [
        format!("{DEMO_CONSUMPTION}-consumption-curve-last-7-days.png"),
        format!("{DEMO_CONSUMPTION}-consumption-daily-last-year.svg"),
        format!("{DEMO_PRODUCTION}-production-curve-last-7-days.svg"),
        format!("{DEMO_PRODUCTION}-production-daily-last-year.png"),
    ] {
        let path = demo.charts.join(&name);
        assert!(charts.iter().any(|c| c.ends_with(&name)), "{name} not printed");
        assert!(std::fs::metadata(&path).map(|m| m.len() > 2000).unwrap_or(false), "{name} missing or tiny");
    }
}

#[test]
fn plot_writes_svg_and_png_files() {
    let demo = demo();
    for (series, from, to, file) in [
        ("consumption-curve", "2021-01-07", "2021-01-14", "curve.svg"),
        ("consumption-daily", "2020-01-01", "2021-01-14", "daily.png"),
    ] {
        let out = demo.home.join(file);
        let stdout = run_ok(
            dataconnect(&demo.home)
                .args(["plot", "--prm", DEMO_CONSUMPTION, "--series", series, "--from", from, "--to", to, "--db"])
                .arg(&demo.db)
                .arg("--out")
                .arg(&out),
        );
        assert!(stdout.contains(file), "{stdout}");
        let bytes = std::fs::read(&out).unwrap();
        if file.ends_with(".svg") {
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.starts_with("<svg") && text.contains("<polyline"), "not a line chart");
            assert!(text.contains(&format!("{DEMO_CONSUMPTION} consumption-curve")), "no title");
        } else {
            assert_eq!(bytes.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]));
            assert!(bytes.len() > 5000);
        }
    }
}

#[test]
fn plot_draws_in_the_terminal() {
    let demo = demo();
    let text = run_ok(
        dataconnect(&demo.home)
            .args(["plot", "--prm", DEMO_PRODUCTION, "--series", "production-daily"])
            .args(["--from", "2020-12-01", "--to", "2021-01-01", "--term", "--db"])
            .arg(&demo.db)
            .env("COLUMNS", "80"),
    );
    assert!(text.starts_with(&format!("{DEMO_PRODUCTION} production-daily, 2020-12-01 to 2020-12-31 (kWh")), "{text}");
    let braille = text.chars().filter(|c| ('\u{2801}'..='\u{28ff}').contains(c)).count();
    assert!(braille > 50, "too few braille dots:\n{text}");
}

#[test]
fn plot_explains_bad_input_in_one_line() {
    let demo = demo();
    let plot = |args: &[&str]| {
        let mut cmd = dataconnect(&demo.home);
        cmd.arg("plot").args(args).arg("--db").arg(&demo.db);
        run(&mut cmd)
    };
    let expect = |args: &[&str], code: i32, needle: &str| {
        let r = plot(args);
        assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{args:?}: {:?} lacks {needle:?}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: not one line: {}", r.stderr);
    };
    let term = |prm: &'static str, series: &'static str, from: &'static str, to: &'static str| {
        ["--prm", prm, "--series", series, "--from", from, "--to", to, "--term"]
    };
    // Nothing stored for that range, or for that meter: say to run sync.
    expect(&term(DEMO_CONSUMPTION, "consumption-daily", "2010-01-01", "2010-02-01"), 2, "dataconnect sync");
    expect(&term("99999999999999", "consumption-daily", "2020-01-01", "2020-02-01"), 2, "nothing stored");
    expect(&term("123", "consumption-daily", "2020-01-01", "2020-02-01"), 2, "--prm");
    expect(&term(DEMO_CONSUMPTION, "consumption", "2020-01-01", "2020-02-01"), 2, "--series");
    expect(&term(DEMO_CONSUMPTION, "consumption-daily", "01/02/2020", "2020-02-01"), 2, "YYYY-MM-DD");
    expect(&term(DEMO_CONSUMPTION, "consumption-daily", "2020-02-01", "2020-01-01"), 3, "--to");
    let out = demo.home.join("chart.jpg");
    let jpg = out.display().to_string();
    let base =
        ["--prm", DEMO_CONSUMPTION, "--series", "consumption-daily", "--from", "2020-01-01", "--to", "2020-02-01"];
    let mut args = base.to_vec();
    args.extend(["--out", jpg.as_str()]);
    expect(&args, 2, ".svg or .png");
    assert!(!out.exists());
    let nowhere = demo.home.join("no-such-dir").join("chart.svg").display().to_string();
    let mut args = base.to_vec();
    args.extend(["--out", nowhere.as_str()]);
    expect(&args, 2, "does not exist");
    // Neither --out nor --term.
    assert_eq!(plot(&base).code, 2);
}
