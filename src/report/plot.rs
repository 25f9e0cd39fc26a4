//! Pictures of runs (plotters; SVG or PNG by the file's extension; text in
//! the bundled DejaVu Sans, so rendering needs no system fonts):
//!
//! - a Gantt chart of one run: a lane per pod, claim, volume, attachment
//!   and snapshot, coloured by the phase the timeline shows, with a mark
//!   at each Warning Event; beyond [`MAX_LANES`] lanes, each kind keeps an
//!   evenly spaced sample and the title says how many are shown;
//! - the distributions of a batch's key durations, as cumulative curves.

use crate::api::Kind;
use crate::cluster::{ChangeOp, EventType, Log, Record};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Lanes drawn at most; more objects are sampled per kind.
pub const MAX_LANES: usize = 80;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The bundled font cannot fail to parse; if it did, text would be
        // missing, not the picture.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// One object's life: (from ms, to ms, phase) segments.
struct Lane {
    name: String,
    kind: Kind,
    segments: Vec<(u64, u64, String)>,
    warnings: Vec<u64>,
}

const KINDS: [Kind; 5] = [
    Kind::Pod,
    Kind::PersistentVolumeClaim,
    Kind::PersistentVolume,
    Kind::VolumeAttachment,
    Kind::VolumeSnapshot,
];

fn lanes(log: &Log, end: u64) -> Vec<Lane> {
    let mut by: BTreeMap<String, Lane> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for rec in log {
        match rec {
            Record::Change(c) if KINDS.contains(&c.object.kind) => {
                let key = c.object.to_string();
                let t = c.t.as_millis();
                let lane = by.entry(key.clone()).or_insert_with(|| {
                    order.push(key.clone());
                    Lane {
                        name: format!(
                            "{} {}",
                            short(c.object.kind),
                            abbreviate(&c.object.key.name)
                        ),
                        kind: c.object.kind,
                        segments: Vec::new(),
                        warnings: Vec::new(),
                    }
                });
                if let Some(last) = lane.segments.last_mut()
                    && last.1 == u64::MAX
                {
                    last.1 = t;
                }
                if c.op != ChangeOp::Deleted {
                    let phase = c.phase.map_or_else(|| "present".into(), |p| p.to_string());
                    lane.segments.push((t, u64::MAX, phase));
                }
            }
            Record::Event(e) if e.kind == EventType::Warning => {
                if let Some(l) = by.get_mut(&e.object.to_string()) {
                    l.warnings.push(e.t.as_millis());
                }
            }
            _ => {}
        }
    }
    let mut out: Vec<Lane> = order.into_iter().filter_map(|k| by.remove(&k)).collect();
    for l in &mut out {
        for s in &mut l.segments {
            s.1 = s.1.min(end);
        }
        l.segments.retain(|s| s.1 > s.0 || s.1 == end);
    }
    out
}

/// Long generated names (`csi-<sha256>`, `pvc-<uid>`) keep their ends.
fn abbreviate(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= 34 {
        return name.to_string();
    }
    let head: String = chars[..20].iter().collect();
    let tail: String = chars[chars.len() - 10..].iter().collect();
    format!("{head}…{tail}")
}

fn short(k: Kind) -> &'static str {
    match k {
        Kind::Pod => "pod",
        Kind::PersistentVolumeClaim => "pvc",
        Kind::PersistentVolume => "pv",
        Kind::VolumeAttachment => "va",
        Kind::VolumeSnapshot => "vs",
        _ => "obj",
    }
}

/// At most `max` lanes: each kind keeps a share, sampled evenly.
fn sample(lanes: Vec<Lane>, max: usize) -> (Vec<Lane>, usize) {
    let total = lanes.len();
    if total <= max {
        return (lanes, total);
    }
    let mut out = Vec::new();
    for k in KINDS {
        let of: Vec<Lane> = lanes
            .iter()
            .filter(|l| l.kind == k)
            .map(clone_lane)
            .collect();
        let share = (of.len() * max).div_ceil(total);
        let step = of.len() as f64 / share.max(1) as f64;
        for i in 0..share.min(of.len()) {
            out.push(clone_lane(&of[(i as f64 * step) as usize]));
        }
    }
    (out, total)
}

fn clone_lane(l: &Lane) -> Lane {
    Lane {
        name: l.name.clone(),
        kind: l.kind,
        segments: l.segments.clone(),
        warnings: l.warnings.clone(),
    }
}

/// The colour of a phase, fixed for the ones users know.
fn colour(phase: &str) -> RGBColor {
    match phase {
        "Pending" => RGBColor(0xf2, 0xc1, 0x4e),
        "ContainerCreating" | "Attaching" => RGBColor(0xf7, 0x8e, 0x3d),
        "Running" | "Bound" | "Attached" | "ReadyToUse" => RGBColor(0x4c, 0xaf, 0x50),
        "Available" => RGBColor(0x4f, 0xc3, 0xf7),
        "Released" => RGBColor(0x9c, 0x6a, 0xde),
        "Terminating" | "Detaching" => RGBColor(0x90, 0x90, 0x90),
        "Failed" | "Lost" | "Error" => RGBColor(0xd3, 0x2f, 0x2f),
        "Succeeded" | "Completed" => RGBColor(0x1e, 0x88, 0xe5),
        other => {
            // Anything else: a stable colour from its name.
            let h = other
                .bytes()
                .fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
            RGBColor(
                64 + (h % 160) as u8,
                64 + (h / 160 % 160) as u8,
                64 + (h / 25600 % 160) as u8,
            )
        }
    }
}

/// Draws with `draw` into a temporary file beside `path` (same extension,
/// which the PNG encoder goes by), then renames it: a plot is written
/// whole or not at all.
fn atomically(path: &Path, draw: impl FnOnce(&Path) -> Result<(), String>) -> Result<(), String> {
    // Not a regular file (a device, a FIFO): drawn into directly, never
    // replaced by a rename.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return draw(path);
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("plot");
    let tmp = dir.join(format!(".{stem}.{}.tmp.{ext}", std::process::id()));
    let result = draw(&tmp).and_then(|()| {
        std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn backend_error(e: impl std::fmt::Display) -> String {
    format!("cannot draw: {e}")
}

/// Draws the Gantt chart of a run to `path` (.svg or .png).
pub fn gantt(path: &Path, title: &str, log: &Log, end_ms: u64) -> Result<(), String> {
    register_font();
    let (lanes, total) = sample(lanes(log, end_ms), MAX_LANES);
    let n = lanes.len().max(1);
    let height = (90 + 18 * n as u32).max(240);
    let size = (1400, height);
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "svg" => atomically(path, |p| {
            draw_gantt(
                SVGBackend::new(p, size).into_drawing_area(),
                title,
                &lanes,
                total,
                end_ms,
            )
        }),
        "png" => atomically(path, |p| {
            draw_gantt(
                BitMapBackend::new(p, size).into_drawing_area(),
                title,
                &lanes,
                total,
                end_ms,
            )
        }),
        _ => Err(format!("{}: a plot is .svg or .png", path.display())),
    }
}

fn draw_gantt<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    lanes: &[Lane],
    total: usize,
    end_ms: u64,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(backend_error)?;
    // The legend gets a column of its own, right of the chart.
    let (width, _) = root.dim_in_pixel();
    let (area, side) = root.split_horizontally(width.saturating_sub(190));
    let end_s = (end_ms as f64 / 1000.0).max(1.0);
    let n = lanes.len().max(1) as i32;
    let caption = if lanes.len() < total {
        format!("{title} — {} of {total} objects shown", lanes.len())
    } else {
        title.to_string()
    };
    let mut chart = ChartBuilder::on(&area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(250)
        .build_cartesian_2d(0f64..end_s, (0..n).into_segmented())
        .map_err(backend_error)?;
    let names: Vec<String> = lanes.iter().map(|l| l.name.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n as usize)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => usize::try_from(n - 1 - *i)
                .ok()
                .and_then(|j| names.get(j))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .x_desc("simulated time (s)")
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(backend_error)?;
    // Top lane first: lane i is drawn at row n-1-i.
    let mut phases: BTreeMap<String, RGBColor> = BTreeMap::new();
    for (i, lane) in lanes.iter().enumerate() {
        let row = n - 1 - i as i32;
        for (a, b, phase) in &lane.segments {
            let c = colour(phase);
            phases.insert(phase.clone(), c);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [
                        (*a as f64 / 1000.0, SegmentValue::Exact(row)),
                        (*b as f64 / 1000.0, SegmentValue::Exact(row + 1)),
                    ],
                    c.filled(),
                )))
                .map_err(backend_error)?;
        }
        chart
            .draw_series(lane.warnings.iter().map(|t| {
                TriangleMarker::new(
                    (*t as f64 / 1000.0, SegmentValue::CenterOf(row)),
                    5,
                    RED.filled(),
                )
            }))
            .map_err(backend_error)?;
    }
    // The legend: phases drawn, and the Warning mark.
    let style = ("sans-serif", 13).into_font();
    let mut y = 50;
    for (phase, c) in &phases {
        side.draw(&Rectangle::new([(10, y - 6), (26, y + 6)], c.filled()))
            .map_err(backend_error)?;
        side.draw(&Text::new(phase.clone(), (34, y - 7), style.clone()))
            .map_err(backend_error)?;
        y += 20;
    }
    side.draw(&TriangleMarker::new((18, y), 5, RED.filled()))
        .map_err(backend_error)?;
    side.draw(&Text::new("Warning event", (34, y - 7), style))
        .map_err(backend_error)?;
    root.present().map_err(backend_error)
}

/// Draws the cumulative distributions of a batch's durations to `path`:
/// one curve per metric, pooled over the batch's scenarios and seeds.
pub fn distributions(
    path: &Path,
    title: &str,
    samples: &BTreeMap<String, Vec<u64>>,
) -> Result<(), String> {
    register_font();
    let size = (1100, 650);
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "svg" => atomically(path, |p| {
            draw_cdf(SVGBackend::new(p, size).into_drawing_area(), title, samples)
        }),
        "png" => atomically(path, |p| {
            draw_cdf(
                BitMapBackend::new(p, size).into_drawing_area(),
                title,
                samples,
            )
        }),
        _ => Err(format!("{}: a plot is .svg or .png", path.display())),
    }
}

fn draw_cdf<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    samples: &BTreeMap<String, Vec<u64>>,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(backend_error)?;
    let max = samples.values().flatten().max().copied().unwrap_or(1) as f64 / 1000.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..(max * 1.05).max(1.0), 0f64..1.0)
        .map_err(backend_error)?;
    chart
        .configure_mesh()
        .x_desc("duration (s)")
        .y_desc("fraction of samples")
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(backend_error)?;
    for (i, (metric, v)) in samples.iter().filter(|(_, v)| !v.is_empty()).enumerate() {
        let mut v = v.clone();
        v.sort_unstable();
        let n = v.len() as f64;
        let c = Palette99::pick(i).to_rgba();
        let points: Vec<(f64, f64)> = v
            .iter()
            .enumerate()
            .map(|(k, x)| (*x as f64 / 1000.0, (k + 1) as f64 / n))
            .collect();
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))
            .map_err(backend_error)?
            .label(format!("{metric} (n={})", v.len()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(backend_error)?;
    root.present().map_err(backend_error)
}
