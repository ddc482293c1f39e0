//! Fuzzes `dataconnect import`'s readers: the bytes are read as every text
//! format (portal CSV, Conso Downloader, the CLI's CSV, JSON lines and JSON)
//! and as the first sheet of a workbook (one text cell per `;` field). A
//! reader may refuse any input; it must never panic, and what it accepts
//! must be sorted readings, each interval once, with covered days that hold
//! readings.
#![no_main]

use dataconnect::import::{Cell, Format, ReadOptions, Sheet, read_text, read_workbook};
use libfuzzer_sys::fuzz_target;

fn check(file: &dataconnect::import::ImportedFile) {
    for part in &file.parts {
        assert!(part.readings.windows(2).all(|w| w[0].start < w[1].start), "unsorted or repeated readings");
        assert!(part.readings.iter().all(|r| r.start < r.end), "an empty interval");
        if !part.covered.is_empty() {
            assert!(!part.readings.is_empty(), "days covered without readings");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let name = "historique_conso_12345678901234_2025-01-01.csv";
    let _ = Format::detect(name, data);
    for format in Format::ALL {
        if let Ok(file) = read_text(format, name, data, &ReadOptions::default()) {
            check(&file);
        }
    }
    let text = String::from_utf8_lossy(data);
    let rows = text.lines().map(|l| l.split(';').map(|c| Cell::Text(c.to_owned())).collect()).collect();
    let sheet = Sheet { name: "Consommation Horaire".into(), rows };
    if let Ok(file) = read_workbook("12345678901234_Export_energie_Consommation_x.xlsx", &[sheet], &ReadOptions::default()) {
        check(&file);
    }
});
