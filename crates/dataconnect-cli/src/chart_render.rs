//! Charts of readings: SVG and PNG files (plotters) and braille charts for
//! the terminal (textplots).
//!
//! A chart is a list of (interval start, value) points with a unit and a
//! title; it knows nothing of the store or of the API, so `plot` and the
//! demo's charts share it. Times are drawn in Paris local time, because that
//! is the time the customer lives in, while the points themselves stay UTC
//! instants until the last moment. `None` values break the line: a gap is
//! drawn as a gap, never as a zero.
//!
//! PNG text needs a font: DejaVu Sans is embedded in the binary (its license,
//! in `assets/DejaVuSans.LICENSE`, allows it) and registered under the
//! generic name `sans-serif`, so charts render the same on a machine without
//! fonts or fontconfig, and SVG files name a family every viewer has.

use std::fmt;
use std::path::Path;

use jiff::Timestamp;
use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;

/// How the points are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    /// A line through the points (load curves).
    Line,
    /// One bar per point, each a day wide (daily series).
    Bars,
}

/// What to draw.
#[derive(Clone, Debug)]
pub struct Chart {
    /// The title above the chart.
    pub title: String,
    /// The unit of the values, shown on the vertical axis.
    pub unit: String,
    /// Line or bars.
    pub kind: ChartKind,
    /// (start of the interval, value) in time order; `None` is a gap.
    pub points: Vec<(Timestamp, Option<f64>)>,
    /// The horizontal extent `[from, to)` to show, when it should be the
    /// period asked for rather than the points' own extent (so that days
    /// without data show as empty, not as a shorter chart).
    pub span: Option<(Timestamp, Timestamp)>,
}

/// Why a chart could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChartError {
    /// The output file name ends neither in `.svg` nor in `.png`.
    UnknownFormat(String),
    /// There is no point with a value to draw.
    Empty,
    /// Drawing or writing the file failed (for example, its directory does not exist).
    Draw {
        /// The file being written.
        path: String,
        /// What the drawing library said.
        message: String,
    },
}

impl fmt::Display for ChartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChartError::UnknownFormat(name) => {
                write!(f, "cannot tell the chart format of {name:?}: the file name must end in .svg or .png")
            }
            ChartError::Empty => f.write_str("nothing to draw: no reading with a value in the chosen period"),
            ChartError::Draw { path, message } => {
                write!(f, "cannot write the chart {path:?}: {message}")
            }
        }
    }
}

impl std::error::Error for ChartError {}

/// The output format of a chart file, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Scalable vector graphics.
    Svg,
    /// A 1200×500 bitmap.
    Png,
}

impl FileFormat {
    /// The format named by `path`'s extension (case-insensitive).
    pub fn of(path: &Path) -> Result<FileFormat, ChartError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("svg") => Ok(FileFormat::Svg),
            Some("png") => Ok(FileFormat::Png),
            _ => Err(ChartError::UnknownFormat(path.display().to_string())),
        }
    }
}

static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The embedded font is a known-good file, so this cannot fail in
        // practice; if it did, drawing would report the missing font as an
        // error naming the chart, which is the right place to say it.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT_BYTES);
    });
}

/// The horizontal extent and vertical range of the chart's points.
struct Frame {
    t0: i64,
    t1: i64,
    ymin: f64,
    ymax: f64,
}

const DAY: i64 = 86_400;

impl Chart {
    fn frame(&self) -> Result<Frame, ChartError> {
        let mut values = self.points.iter().filter_map(|p| p.1).filter(|v| v.is_finite()).peekable();
        if values.peek().is_none() {
            return Err(ChartError::Empty);
        }
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let mut t0 = self.points.iter().map(|p| p.0.as_second()).min().unwrap_or(0);
        let mut t1 = self.points.iter().map(|p| p.0.as_second()).max().unwrap_or(0);
        if self.kind == ChartKind::Bars {
            // Bars cover their whole day, so the frame ends a day after the last start.
            t1 += DAY;
        }
        if let Some((from, to)) = self.span {
            t0 = t0.min(from.as_second());
            t1 = t1.max(to.as_second());
        }
        if t1 <= t0 {
            t1 = t0 + 3600;
        }
        // Bars and powers start from zero, so that heights compare honestly.
        let ymin = lo.min(0.0);
        let ymax = if hi <= ymin { ymin + 1.0 } else { hi + (hi - ymin) * 0.05 };
        Ok(Frame { t0, t1, ymin, ymax })
    }

    /// Runs of consecutive points with values, so that gaps stay gaps.
    fn segments(&self) -> Vec<Vec<(i64, f64)>> {
        let mut out = Vec::new();
        let mut cur = Vec::new();
        for (t, v) in &self.points {
            match v {
                Some(v) if v.is_finite() => cur.push((t.as_second(), *v)),
                _ => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }
}

/// Formats an epoch second as a Paris local label, coarser for long spans.
fn time_label(secs: i64, span_secs: i64) -> String {
    let Ok(ts) = Timestamp::from_second(secs) else {
        return String::new();
    };
    let z = ts.to_zoned_datetime(dataconnect::domain::paris());
    if span_secs > 40 * DAY {
        format!("{:04}-{:02}", z.year(), z.month())
    } else if span_secs > 3 * DAY {
        format!("{:02}/{:02}", z.day(), z.month())
    } else {
        format!("{:02}/{:02} {:02}:{:02}", z.day(), z.month(), z.hour(), z.minute())
    }
}

/// Tick positions on Paris midnights (spans up to 40 days) or on the first
/// of a month (longer spans), at most about ten of them, so that a label
/// like `08/01` sits exactly where that day starts.
fn time_ticks(t0: i64, t1: i64) -> Vec<i64> {
    let zone = dataconnect::domain::paris();
    let (Ok(a), Ok(b)) = (Timestamp::from_second(t0), Timestamp::from_second(t1)) else {
        return Vec::new();
    };
    let (first, last) = (a.to_zoned_datetime(zone.clone()).date(), b.to_zoned_datetime(zone).date());
    let span_days = (t1 - t0) / DAY;
    let mut ticks = Vec::new();
    if span_days <= 40 {
        let every = (span_days / 10 + 1).max(1);
        let mut day = first;
        let mut i = 0i64;
        while day <= last {
            if i % every == 0 {
                ticks.push(dataconnect::domain::paris_day_start(day).as_second());
            }
            i += 1;
            match day.tomorrow() {
                Ok(d) => day = d,
                Err(_) => break,
            }
        }
    } else {
        let months = span_days / 30;
        let every = ((months + 11) / 12).max(1) as i8;
        let mut month = first.first_of_month();
        let mut i = 0i64;
        while month <= last {
            if i % i64::from(every) == 0 {
                ticks.push(dataconnect::domain::paris_day_start(month).as_second());
            }
            i += 1;
            match month.checked_add(jiff::Span::new().months(1)) {
                Ok(m) => month = m,
                Err(_) => break,
            }
        }
    }
    ticks.retain(|t| (t0..=t1).contains(t));
    ticks
}

/// Formats a value label with as many decimals as the range needs.
fn value_label(v: f64, range: f64) -> String {
    if range >= 20.0 {
        format!("{v:.0}")
    } else if range >= 2.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Writes the chart to `path`, as SVG or PNG according to its extension.
pub fn write(chart: &Chart, path: &Path) -> Result<(), ChartError> {
    let format = FileFormat::of(path)?;
    let name = path.display().to_string();
    let err = |message: String| ChartError::Draw { path: name.clone(), message };
    let size = (1200, 500);
    // Both backends measure text with the font, so it is registered first.
    register_font();
    match format {
        FileFormat::Svg => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(chart, &root).map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))
        }
        FileFormat::Png => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw(chart, &root).map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))
        }
    }
}

/// Draws the chart as an SVG document in memory, for pages that inline it
/// (`dataconnect serve`).
pub fn to_svg(chart: &Chart) -> Result<String, ChartError> {
    let err = |message: String| ChartError::Draw { path: "(in memory)".to_owned(), message };
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1200, 500)).into_drawing_area();
        draw(chart, &root).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(out)
}

fn draw<DB: DrawingBackend>(chart: &Chart, root: &DrawingArea<DB, plotters::coord::Shift>) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let f = chart.frame().map_err(|e| e.to_string())?;
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let span = f.t1 - f.t0;
    let yrange = f.ymax - f.ymin;
    let font = FontFamily::SansSerif;
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, (font, 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d((f.t0..f.t1).with_key_points(time_ticks(f.t0, f.t1)), f.ymin..f.ymax)
        .map_err(e)?;
    ctx.configure_mesh()
        .y_labels(8)
        .x_label_formatter(&|s| time_label(*s, span))
        .y_label_formatter(&|v| value_label(*v, yrange))
        .y_desc(chart.unit.as_str())
        .label_style((font, 13))
        .axis_desc_style((font, 14))
        .draw()
        .map_err(e)?;
    let color = RGBColor(31, 119, 180);
    match chart.kind {
        ChartKind::Line => {
            for seg in chart.segments() {
                if seg.len() == 1 {
                    // A lone point between two gaps has no line to draw;
                    // a dot keeps it visible.
                    ctx.draw_series(seg.iter().map(|&p| Circle::new(p, 2, color.filled()))).map_err(e)?;
                } else {
                    ctx.draw_series(LineSeries::new(seg, color.stroke_width(1))).map_err(e)?;
                }
            }
        }
        ChartKind::Bars => {
            let bars = chart.points.iter().filter_map(|(t, v)| {
                let v = (*v).filter(|v| v.is_finite())?;
                let x0 = t.as_second();
                // A small gap between bars keeps neighbouring days readable.
                Some(Rectangle::new([(x0 + DAY / 24, 0.0), (x0 + DAY - DAY / 24, v)], color.filled()))
            });
            ctx.draw_series(bars).map_err(e)?;
        }
    }
    Ok(())
}

/// The size of a terminal chart, in character cells.
#[derive(Clone, Copy, Debug)]
pub struct TermSize {
    /// Columns, including the value labels on the right.
    pub columns: u32,
    /// Rows of the plotting area.
    pub rows: u32,
}

impl TermSize {
    /// The terminal's width from `COLUMNS` (shells export it), else 100
    /// columns; 20 rows.
    pub fn from_env() -> TermSize {
        let columns = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<u32>().ok()).unwrap_or(100);
        TermSize { columns: columns.clamp(40, 400), rows: 20 }
    }
}

/// The chart as braille text for a terminal.
pub fn to_terminal(chart: &Chart, size: TermSize) -> Result<String, ChartError> {
    use textplots::{Chart as TChart, LabelBuilder, LabelFormat, Plot, Shape};
    let f = chart.frame()?;
    let hours = |t: i64| ((t - f.t0) as f64 / 3600.0) as f32;
    // One shape per run of values, so that a gap is not bridged by a line.
    let runs: Vec<Vec<(f32, f32)>> =
        chart.segments().into_iter().map(|seg| seg.into_iter().map(|(t, v)| (hours(t), v as f32)).collect()).collect();
    let shapes: Vec<Shape<'_>> = runs
        .iter()
        .map(|pts| match (chart.kind, pts.len()) {
            (_, 1) => Shape::Points(pts),
            (ChartKind::Line, _) => Shape::Lines(pts),
            (ChartKind::Bars, _) => Shape::Bars(pts),
        })
        .collect();
    // textplots panics below 32×3 dots; a braille cell is 2×4 dots, and
    // about 12 columns are left for the value labels.
    let width = (size.columns.saturating_sub(12) * 2).max(32);
    let height = (size.rows * 4).max(12);
    let xmax = hours(f.t1).max(1.0);
    let (t0, span) = (f.t0, f.t1 - f.t0);
    let yrange = f.ymax - f.ymin;
    let mut tchart = TChart::new_with_y_range(width, height, 0.0, xmax, f.ymin as f32, f.ymax as f32);
    let mut drawn = tchart
        .x_label_format(LabelFormat::Custom(Box::new(move |x| time_label(t0 + (f64::from(x) * 3600.0) as i64, span))))
        .y_label_format(LabelFormat::Custom(Box::new(move |y| value_label(f64::from(y), yrange))));
    for shape in &shapes {
        drawn = drawn.lineplot(shape);
    }
    drawn.axis();
    drawn.figures();
    Ok(format!("{} ({}, Paris time)\n{drawn}", chart.title, chart.unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(kind: ChartKind, values: &[Option<f64>]) -> Chart {
        let t0 = Timestamp::from_second(1_700_000_000).unwrap();
        let step = if kind == ChartKind::Bars { DAY } else { 1800 };
        let points = values
            .iter()
            .enumerate()
            .map(|(i, v)| (Timestamp::from_second(t0.as_second() + i as i64 * step).unwrap(), *v))
            .collect();
        Chart { title: "t".into(), unit: "W".into(), kind, points, span: None }
    }

    #[test]
    fn gaps_split_the_line_and_nothing_bridges_them() {
        let c = chart(ChartKind::Line, &[Some(1.0), Some(2.0), None, None, Some(3.0), None, Some(4.0), Some(5.0)]);
        let lens: Vec<usize> = c.segments().iter().map(Vec::len).collect();
        assert_eq!(lens, vec![2, 1, 2]);
    }

    #[test]
    fn no_value_is_an_error_not_an_empty_picture() {
        let c = chart(ChartKind::Line, &[None, None]);
        assert!(matches!(c.frame(), Err(ChartError::Empty)));
        assert!(matches!(to_terminal(&c, TermSize { columns: 80, rows: 10 }), Err(ChartError::Empty)));
    }

    #[test]
    fn the_extension_picks_the_format() {
        assert_eq!(FileFormat::of(Path::new("a/b.SVG")).unwrap(), FileFormat::Svg);
        assert_eq!(FileFormat::of(Path::new("b.png")).unwrap(), FileFormat::Png);
        assert!(matches!(FileFormat::of(Path::new("b.jpg")), Err(ChartError::UnknownFormat(_))));
        assert!(matches!(FileFormat::of(Path::new("b")), Err(ChartError::UnknownFormat(_))));
    }

    #[test]
    fn ticks_sit_on_paris_midnights_or_month_starts() {
        let day = |y, m, d| dataconnect::domain::paris_day_start(jiff::civil::date(y, m, d)).as_second();
        let week = time_ticks(day(2021, 1, 8), day(2021, 1, 15));
        assert_eq!(week, (8..=15).map(|d| day(2021, 1, d)).collect::<Vec<_>>());
        // Across the spring DST change, midnights are 23 hours apart.
        let dst = time_ticks(day(2021, 3, 27), day(2021, 3, 29));
        assert_eq!(dst, vec![day(2021, 3, 27), day(2021, 3, 28), day(2021, 3, 29)]);
        let year = time_ticks(day(2020, 1, 15), day(2021, 1, 15));
        assert_eq!(year.first(), Some(&day(2020, 2, 1)));
        assert!(year.len() <= 12, "{}", year.len());
    }

    #[test]
    fn tiny_terminals_do_not_panic() {
        let c = chart(ChartKind::Bars, &[Some(3.0), Some(4.0), None, Some(1.0)]);
        let text = to_terminal(&c, TermSize { columns: 1, rows: 0 }).unwrap();
        assert!(text.contains('\u{2800}') || text.chars().any(|ch| ('\u{2800}'..='\u{28ff}').contains(&ch)));
    }

    #[test]
    fn both_file_formats_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let c = chart(ChartKind::Line, &[Some(100.0), Some(250.0), None, Some(300.0), Some(120.0)]);
        for name in ["c.svg", "c.png"] {
            let path = dir.path().join(name);
            write(&c, &path).unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() > 1000, "{name} is too small to be a chart");
        }
        let svg = std::fs::read_to_string(dir.path().join("c.svg")).unwrap();
        assert!(svg.contains("<svg") && svg.contains("sans-serif"));
        let png = std::fs::read(dir.path().join("c.png")).unwrap();
        assert_eq!(png.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]));
    }
}
