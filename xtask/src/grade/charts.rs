//! The HTML report's charts: stacked horizontal bars, one bar per lesson,
//! drawn with plotters' SVG backend into a string to inline in the page.
//!
//! Their legend and caption are the page's own text (readable, and
//! selectable), not the SVG's. Drawn 480 px wide with 20-point labels:
//! plotters writes them at 20 / 1.24 ≈ 16 px, still ≥ 12 px when a 390 px
//! phone shrinks the chart to its ~366 px column.

use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::chart::{FONT, drawing};

/// The chart's width in SVG pixels.
const WIDTH: u32 = 480;
/// Label size as plotters takes it.
const TEXT: u32 = 20;

/// One bar: its label (a lesson's number) and a count per series.
pub struct Bar {
    /// What the axis says beside it.
    pub label: String,
    /// One count per series, in the order of the colours.
    pub parts: Vec<u32>,
}

/// The series' colours, colour-blind safe (Okabe–Ito), in legend order.
pub const COLOURS: [(u8, u8, u8); 5] = [
    (0, 158, 115),
    (213, 94, 0),
    (0, 114, 178),
    (153, 153, 153),
    (230, 159, 0),
];

/// `#009e73` for series `i`, as the page's legend writes it.
pub fn css_colour(i: usize) -> String {
    let (r, g, b) = COLOURS[i % COLOURS.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// `bars` as stacked horizontal bars, the first at the top, counted along
/// an axis described by `x_name`; an `<svg>` element without a namespace
/// (inline SVG in HTML needs none, and the page names no URL at all).
pub fn stacked(bars: &[Bar], x_name: &str) -> Result<String> {
    let n = bars.len().max(1);
    let most = bars
        .iter()
        .map(|b| b.parts.iter().sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1);
    let height = 80 + 34 * n as u32;
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        area.fill(&WHITE).map_err(drawing)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(40)
            .build_cartesian_2d(0..most, 0.0..n as f64)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(most.min(8) as usize + 1)
            .x_label_formatter(&|x| x.to_string())
            .x_desc(x_name)
            .label_style((FONT, TEXT))
            .axis_desc_style((FONT, TEXT))
            .draw()
            .map_err(drawing)?;
        // A bar's band, counted from the bottom as plotters does: the first
        // bar at the top. Its label is drawn beside it, right-aligned to the
        // axis (the axis's own labels sit at ticks, not between them).
        let band = |i: usize| (n - 1 - i) as f64;
        let style = TextStyle::from((FONT, TEXT)).pos(Pos::new(HPos::Right, VPos::Center));
        chart
            .draw_series(bars.iter().enumerate().map(|(i, bar)| {
                EmptyElement::at((0, band(i) + 0.5))
                    + Text::new(bar.label.clone(), (-8, 0), style.clone())
            }))
            .map_err(drawing)?;
        let mut rectangles = Vec::new();
        for (i, bar) in bars.iter().enumerate() {
            let mut start = 0;
            for (part, count) in bar.parts.iter().enumerate() {
                if *count == 0 {
                    continue;
                }
                let (r, g, b) = COLOURS[part % COLOURS.len()];
                rectangles.push(Rectangle::new(
                    [(start, band(i) + 0.15), (start + count, band(i) + 0.85)],
                    RGBColor(r, g, b).filled(),
                ));
                start += count;
            }
        }
        chart.draw_series(rectangles).map_err(drawing)?;
        area.present().map_err(drawing)?;
    }
    Ok(svg.replace(r#" xmlns="http://www.w3.org/2000/svg""#, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_one_svg_element_naming_no_url() {
        let bars = [
            Bar {
                label: "01".into(),
                parts: vec![2, 1, 0],
            },
            Bar {
                label: "02".into(),
                parts: vec![0, 0, 3],
            },
        ];
        let svg = stacked(&bars, "learners").unwrap();
        assert!(svg.trim_start().starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("http"), "{svg}");
        // The lessons' numbers label the bars, the first at the top.
        let y_of = |label: &str| -> u32 {
            let at = svg.find(&format!("\n{label}\n")).expect(label);
            let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
            let y = tag.split("y=\"").nth(1).unwrap();
            y[..y.find('"').unwrap()].parse().unwrap()
        };
        assert!(y_of("01") < y_of("02"), "{svg}");
        // The background and three parts (the empty ones are not drawn).
        assert_eq!(svg.matches("<rect").count(), 4, "{svg}");
        assert!(svg.contains("#009E73"), "{svg}");

        let one = stacked(&bars[..1], "learners").unwrap();
        assert_eq!(
            one.matches("<rect").count(),
            3,
            "a lone bar is drawn: {one}"
        );
    }
}
