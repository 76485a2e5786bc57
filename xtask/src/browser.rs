//! `cargo xtask browser`: the built book, read in a real browser on a phone
//! and on a desktop.
//!
//! `mdbook serve` serves the book on localhost, as a learner reads it; Debian's
//! headless `chromium`, driven through `chromedriver` ([`webdriver`]), lays
//! out every chapter at 390 px (a phone, by device-metrics emulation) and at
//! 1280 px, and checks on each:
//!
//! - the page never scrolls sideways;
//! - no code block or table scrolls sideways at 1280 px; at 390 px no table
//!   does, and the code blocks that must (lines longer than a phone is wide)
//!   are listed;
//! - every figure loads, and its smallest text is at least [`MIN_TEXT_PX`]
//!   on screen (the SVG's font size times the scale the page shows it at);
//! - each lesson chapter shows its code (the includes resolved), the search
//!   finds a chapter, and every figure the book ships is shown somewhere.
//!
//! A screenshot of every page at both widths, and of every figure, is kept
//! in the output folder to look at.

mod webdriver;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

pub use self::webdriver::{CHROMEDRIVER, CHROMIUM};
use self::webdriver::{Driver, Screen};
use crate::book;

/// The smallest figure text a reader can still make out, in CSS pixels.
pub const MIN_TEXT_PX: f64 = 9.0;

/// The two screens every page is checked on.
pub const SCREENS: [Screen; 2] = [
    Screen {
        name: "phone-390",
        width: 390,
        height: 844,
        mobile: true,
    },
    Screen {
        name: "desktop-1280",
        width: 1280,
        height: 900,
        mobile: false,
    },
];

/// Whether this machine can run the browser test.
pub fn available() -> bool {
    Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file()
}

/// Serves the book at `book_dir`, tours it at both widths, keeps screenshots
/// in `shots`; returns what it found.
pub fn browse(book_dir: &Path, shots: &Path) -> Result<String> {
    let pages = chapter_pages(book_dir)?;
    std::fs::create_dir_all(shots).with_context(|| format!("cannot create {}", shots.display()))?;
    // Last run's screenshots would be mistaken for this run's.
    for screen in SCREENS {
        let dir = shots.join(screen.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
    }
    // A folder only the server writes: it answers once its own build is
    // done, and never reloads a page under the tour for a rebuild.
    let html = shots.join("site");
    if html.exists() {
        std::fs::remove_dir_all(&html)
            .with_context(|| format!("cannot remove {}", html.display()))?;
    }
    let server = Server::start(book_dir, &html)?;
    let figures = figure_files(&html)?;
    let driver = Driver::start(&shots.join("chromium-profile"))?;
    let result = tour(&driver, &server.address, &html, &pages, &figures, shots);
    driver.quit();
    drop(server);
    result
}

/// `mdbook serve` on a free localhost port, stopped when dropped.
struct Server {
    process: Child,
    address: String,
}

impl Server {
    fn start(book_dir: &Path, html: &Path) -> Result<Self> {
        let port = webdriver::free_port()?;
        let process = Command::new(book::mdbook()?)
            .arg("serve")
            .arg(book_dir)
            .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
            .arg("--dest-dir")
            .arg(html)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("could not start mdbook serve")?;
        let server = Server {
            process,
            address: format!("http://127.0.0.1:{port}"),
        };
        webdriver::wait_until_up(
            &format!("{}/index.html", server.address),
            Duration::from_secs(60),
            "mdbook serve",
        )?;
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The book's chapters as pages (`lessons/03-backpressure.html`), in the
/// order of `SUMMARY.md`.
fn chapter_pages(book_dir: &Path) -> Result<Vec<String>> {
    static LINK: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\]\(([^)#]+)\.md\)").expect("regex"));
    let summary = book_dir.join("src/SUMMARY.md");
    let text = std::fs::read_to_string(&summary)
        .with_context(|| format!("cannot read {}", summary.display()))?;
    Ok(LINK
        .captures_iter(&text)
        .map(|found| format!("{}.html", &found[1]))
        .collect())
}

/// The figures the built book ships: every SVG in its `figures/` folder, by name.
fn figure_files(html: &Path) -> Result<Vec<String>> {
    let dir = html.join("figures");
    let entries =
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".svg"))
        .collect();
    names.sort();
    Ok(names)
}

/// What the page reports about its own layout (see [`LAYOUT`]).
#[derive(Debug, Deserialize)]
struct Layout {
    /// The viewport's width, CSS px.
    viewport: f64,
    /// How wide the page's content is; more than the viewport means the
    /// whole page scrolls sideways.
    page: f64,
    /// Code blocks and tables that scroll sideways.
    scrolling: Vec<Scroller>,
    images: Vec<Image>,
    /// The text of the page's code blocks.
    code: String,
}

#[derive(Debug, Deserialize)]
struct Scroller {
    /// `code` or `table`.
    kind: String,
    /// Its first line, to find it by.
    first_line: String,
    /// How many characters its longest line has.
    longest: usize,
    /// How far it overflows, CSS px.
    over: f64,
}

#[derive(Debug, Deserialize)]
struct Image {
    src: String,
    loaded: bool,
    /// Its width as drawn on the page, CSS px.
    shown_width: f64,
}

/// Measures the page: run in the browser, returns a [`Layout`].
const LAYOUT: &str = r#"
const root = document.documentElement;
const scrolling = [...document.querySelectorAll('pre > code, .table-wrapper')]
  .filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => {
    const lines = (e.textContent || '').split('\n');
    return {
      kind: e.matches('code') ? 'code' : 'table',
      first_line: lines.map(l => l.trim()).find(l => l.length > 0) || '',
      longest: Math.max(...lines.map(l => l.length)),
      over: e.scrollWidth - e.clientWidth,
    };
  });
// mdBook puts a hidden copy of each image beside it, shown when tapped to zoom.
const images = [...document.querySelectorAll('main img')].filter(i => !i.closest('.img-wrapper')).map(i => ({
  src: i.getAttribute('src') || '',
  loaded: i.complete && i.naturalWidth > 0,
  shown_width: i.getBoundingClientRect().width,
}));
return {
  viewport: root.clientWidth,
  page: root.scrollWidth,
  scrolling,
  images,
  code: [...document.querySelectorAll('pre code')].map(c => c.textContent).join('\n'),
};
"#;

/// True once the page has loaded and every code block has its text.
const READY: &str = "return document.readyState === 'complete' \
    && [...document.querySelectorAll('pre code')].every(c => c.textContent.length > 0) \
    && (document.querySelector('main') || {textContent: ''}).textContent.length > 0";

/// Everything the tour found, to report and to judge.
#[derive(Default)]
struct Findings {
    report: String,
    problems: Vec<String>,
    figures_seen: BTreeSet<String>,
}

fn tour(
    driver: &Driver,
    site: &str,
    html: &Path,
    pages: &[String],
    figures: &[String],
    shots: &Path,
) -> Result<String> {
    let mut found = Findings::default();
    for screen in SCREENS {
        driver.emulate(screen)?;
        let mut codes_scrolling = 0;
        let mut smallest: Option<(f64, String)> = None;
        for (index, page) in pages.iter().enumerate() {
            driver.open(&format!("{site}/{page}"))?;
            // Seen once: a page measured right after opening had its code
            // blocks still empty. Wait until it has loaded and shows text.
            driver.wait_for(READY, |ready| ready == true)?;
            let layout: Layout = serde_json::from_value(driver.script(LAYOUT)?)
                .with_context(|| format!("{page}: the layout script's answer"))?;
            let shot = shots.join(screen.name).join(format!(
                "{index:02}-{}.png",
                page.replace('/', "-").trim_end_matches(".html")
            ));
            driver.screenshot(&shot)?;
            codes_scrolling += judge_layout(screen, page, &layout, &mut found);
            for (k, image) in layout.images.iter().enumerate() {
                let px = check_figure(screen, page, image, html, &mut found)?;
                if let Some(px) = px
                    && smallest.as_ref().is_none_or(|(least, _)| px < *least)
                {
                    smallest = Some((px, format!("{} on {page}", image.src)));
                }
                driver.script(&format!(
                    "[...document.querySelectorAll('main img')].filter(i => !i.closest('.img-wrapper'))[{k}].scrollIntoView({{block: 'center'}})"
                ))?;
                let name = format!(
                    "{index:02}-{}-figure-{k}.png",
                    page.replace('/', "-").trim_end_matches(".html")
                );
                driver.screenshot(&shots.join(screen.name).join(name))?;
            }
            if !layout.scrolling.is_empty() {
                // What scrolls, on screen: the first such block, centred.
                driver.script(
                    "[...document.querySelectorAll('pre > code, .table-wrapper')].find(e => e.scrollWidth > e.clientWidth + 1).scrollIntoView({block: 'center'})",
                )?;
                let name = format!(
                    "{index:02}-{}-scrolling.png",
                    page.replace('/', "-").trim_end_matches(".html")
                );
                driver.screenshot(&shots.join(screen.name).join(name))?;
            }
            if page.starts_with("lessons/") && !layout.code.contains("fn ") {
                found.problems.push(format!(
                    "{page} at {} px: shows no Rust code (an include that resolved to nothing?)",
                    screen.width
                ));
            }
        }
        let _ = writeln!(
            found.report,
            "{} ({}×{} CSS px): {} pages; code blocks scrolling sideways: {codes_scrolling}; smallest figure text {}",
            screen.name,
            screen.width,
            screen.height,
            pages.len(),
            smallest.map_or("-".to_string(), |(px, what)| format!("{px:.1} px ({what})")),
        );
    }
    let unseen: Vec<&String> = figures
        .iter()
        .filter(|f| !found.figures_seen.contains(*f))
        .collect();
    if !unseen.is_empty() {
        found.problems.push(format!(
            "figures the book ships but no chapter shows: {unseen:?}"
        ));
    }
    search(driver, site, shots, &mut found)?;
    let _ = writeln!(found.report, "screenshots: {}", shots.display());
    if found.problems.is_empty() {
        Ok(found.report)
    } else {
        bail!(
            "{}the book fails {} browser check(s):\n  {}",
            found.report,
            found.problems.len(),
            found.problems.join("\n  ")
        )
    }
}

/// The page and its blocks stay within the screen; returns how many code
/// blocks scroll (allowed on a phone only).
fn judge_layout(screen: Screen, page: &str, layout: &Layout, found: &mut Findings) -> usize {
    let at = format!("{page} at {} px", screen.width);
    if layout.page > layout.viewport + 1.0 {
        found.problems.push(format!(
            "{at}: the page is {:.0} px wide and scrolls sideways",
            layout.page
        ));
    }
    let mut codes = 0;
    for block in &layout.scrolling {
        let phone_code = screen.mobile && block.kind == "code";
        if phone_code {
            codes += 1;
            let _ = writeln!(
                found.report,
                "  {at}: code block scrolls {:.0} px (its longest line has {} characters): {}",
                block.over, block.longest, block.first_line
            );
        } else {
            found.problems.push(format!(
                "{at}: a {} scrolls sideways by {:.0} px (longest line {} characters): {}",
                block.kind, block.over, block.longest, block.first_line
            ));
        }
    }
    codes
}

/// A figure loaded, and its smallest text is readable at the size shown;
/// returns that size in CSS px (for an SVG).
fn check_figure(
    screen: Screen,
    page: &str,
    image: &Image,
    html: &Path,
    found: &mut Findings,
) -> Result<Option<f64>> {
    let name = image
        .src
        .rsplit('/')
        .next()
        .unwrap_or(&image.src)
        .to_string();
    if !image.loaded {
        found.problems.push(format!(
            "{page} at {} px: {} did not load",
            screen.width, image.src
        ));
        return Ok(None);
    }
    found.figures_seen.insert(name.clone());
    if !name.ends_with(".svg") {
        return Ok(None);
    }
    let file: PathBuf = html.join("figures").join(&name);
    let svg = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let (width, font) =
        svg_text_size(&svg).with_context(|| format!("{name}: no width or no text"))?;
    let on_screen = font * image.shown_width / width;
    if on_screen < MIN_TEXT_PX {
        found.problems.push(format!(
            "{page} at {} px: {name}'s smallest text is {on_screen:.1} px on screen (its {font:.1} px in a {width:.0} px figure shown {:.0} px wide); at least {MIN_TEXT_PX} px is readable",
            screen.width, image.shown_width
        ));
    }
    Ok(Some(on_screen))
}

/// An SVG's own width and its smallest `font-size`, in SVG pixels.
fn svg_text_size(svg: &str) -> Option<(f64, f64)> {
    static WIDTH: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"<svg[^>]*\swidth="([0-9.]+)""#).expect("regex"));
    static FONT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"font-size="([0-9.]+)""#).expect("regex"));
    let width: f64 = WIDTH.captures(svg)?[1].parse().ok()?;
    let font = FONT
        .captures_iter(svg)
        .filter_map(|found| found[1].parse::<f64>().ok())
        .reduce(f64::min)?;
    Some((width, font))
}

/// The search box finds chapter 03 for "backpressure" (desktop width).
fn search(driver: &Driver, site: &str, shots: &Path, found: &mut Findings) -> Result<()> {
    driver.emulate(SCREENS[1])?;
    driver.open(&format!("{site}/index.html"))?;
    let title = driver.script("return document.title")?;
    ensure!(
        title.as_str().is_some_and(|t| t.contains("Introduction")),
        "the first page's title is {title}, not the introduction's"
    );
    driver.click("#mdbook-search-toggle")?;
    driver.type_into("#mdbook-searchbar", "backpressure")?;
    let results = driver.wait_for(
        "return [...document.querySelectorAll('#mdbook-searchresults a')].map(a => a.getAttribute('href'))",
        |v| v.as_array().is_some_and(|links| !links.is_empty()),
    )?;
    let links: Vec<&str> = results
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !links.iter().any(|l| l.contains("03-backpressure")) {
        found.problems.push(format!(
            "searching \"backpressure\" does not find chapter 03; results: {links:?}"
        ));
    }
    driver.screenshot(&shots.join("search.png"))?;
    let _ = writeln!(
        found.report,
        "search \"backpressure\": {} results, chapter 03 among them",
        links.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_svg_s_width_and_smallest_text_are_read() {
        let svg = r#"<svg width="600" height="360" viewBox="0 0 600 360">
            <text font-size="20.9">title</text><text font-size="16.93">tick</text></svg>"#;
        assert_eq!(svg_text_size(svg), Some((600.0, 16.93)));
        assert_eq!(svg_text_size("<svg width=\"1\"></svg>"), None);
    }
}
