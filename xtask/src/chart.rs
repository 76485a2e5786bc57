//! How the book's figures look: their size, fonts, axes and legend, shared by
//! every figure `cargo xtask figures` draws.
//!
//! The book shows a figure at its own width on a desktop and shrunk to the
//! text column on a phone, text and all; so the figures are drawn narrow and
//! their text large, to stay readable at 390 px (`cargo xtask browser`
//! checks that every figure's smallest text is at least 9 px on screen).

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Every figure's size in SVG pixels: what a desktop shows.
pub(crate) const WIDTH: u32 = 600;
pub(crate) const HEIGHT: u32 = 360;
/// Font sizes as plotters takes them; it writes text at about 0.8 of the
/// size asked for, so the smallest text is ~17 px in a 600 px figure, ~10 px
/// once a phone has shrunk the figure to its ~370 px column.
pub(crate) const TITLE_FONT: u32 = 26;
pub(crate) const TEXT_FONT: u32 = 21;
pub(crate) const FONT: &str = "sans-serif";

/// A drawing error, said as one.
pub(crate) fn drawing<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e}")
}

pub(crate) type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A white chart with a caption, axes over `ranges` and their descriptions `names`.
pub(crate) fn axes<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    caption: &str,
    ranges: (std::ops::Range<f64>, std::ops::Range<f64>),
    names: (&str, &str),
) -> Result<Chart<'a, 'b>> {
    area.fill(&WHITE).map_err(drawing)?;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, TITLE_FONT))
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(75)
        .build_cartesian_2d(ranges.0, ranges.1)
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_labels(6)
        .y_labels(6)
        .x_desc(names.0)
        .y_desc(names.1)
        .label_style((FONT, TEXT_FONT))
        .axis_desc_style((FONT, TEXT_FONT))
        .draw()
        .map_err(drawing)?;
    Ok(chart)
}

/// Draws the legend at `position` and writes the file.
pub(crate) fn finish<'a, 'b: 'a>(
    area: &DrawingArea<SVGBackend<'b>, Shift>,
    chart: &mut Chart<'a, 'b>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, TEXT_FONT))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(drawing)?;
    area.present().map_err(drawing)
}
