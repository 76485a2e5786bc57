//! `cargo xtask browser`: the built book, tried in a real browser.
//!
//! Serves the HTML that `cargo xtask book` built on localhost, starts Debian's
//! `chromedriver` and headless `chromium`, and through WebDriver (plain HTTP and
//! JSON): opens the introduction and a lesson chapter, checks that the code
//! blocks hold real code, checks that every figure the book ships has loaded
//! on its chapter, types into the search box and waits for results — saving a
//! screenshot of each step.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// Where Debian's `chromium` and `chromium-driver` packages put them.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// See [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether this machine can run the browser test.
pub fn available() -> bool {
    Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file()
}

/// Runs the browser test over the book built in `html`; screenshots go to
/// `shots`. Returns what it checked.
pub fn browse(html: &Path, shots: &Path) -> Result<String, String> {
    if !html.join("index.html").is_file() {
        return Err(format!(
            "no book at {}: run `cargo xtask book` first",
            html.display()
        ));
    }
    std::fs::create_dir_all(shots).map_err(|e| format!("{}: {e}", shots.display()))?;
    let site = serve(html.to_path_buf())?;
    let driver = Driver::start(&shots.join("chromium-profile"))?;
    let result = tour(&driver, &site, html, shots);
    driver.quit();
    result
}

/// The steps, each with its screenshot.
fn tour(driver: &Driver, site: &str, html: &Path, shots: &Path) -> Result<String, String> {
    let mut report = String::new();

    driver.open(&format!("{site}/index.html"))?;
    let title = driver.script("return document.title")?;
    expect(
        title.as_str().is_some_and(|t| t.contains("Introduction")),
        format!("the introduction's title is {title}"),
    )?;
    let shot = driver.screenshot(&shots.join("1-introduction.png"))?;
    report.push_str(&format!("introduction: title {title}; {shot}\n"));

    driver.open(&format!("{site}/lessons/03-backpressure.html"))?;
    let code = driver.script(
        "return [...document.querySelectorAll('pre code')].map(c => c.textContent).join('\\n')",
    )?;
    expect(
        code.as_str()
            .is_some_and(|c| c.contains("pub fn work_queue") && !c.contains("{{#include")),
        "chapter 03's code blocks hold the lesson's code (work_queue)".to_string(),
    )?;
    let figures = check_images(driver)?;
    let mut seen: Vec<String> = figures.iter().map(|f| f.name.clone()).collect();
    let shot = driver.screenshot(&shots.join("2-lesson-03.png"))?;
    report.push_str(&format!(
        "lesson 03: code included; figures loaded: {}; {shot}\n",
        describe(&figures)
    ));

    for (page, label, shot) in [
        (
            "lessons/06-worker-stats.html",
            "lesson 06",
            "3-lesson-06-figure.png",
        ),
        ("capstone.html", "capstone", "4-capstone-figure.png"),
    ] {
        driver.open(&format!("{site}/{page}"))?;
        let figures = check_images(driver)?;
        seen.extend(figures.iter().map(|f| f.name.clone()));
        driver.script("document.querySelector('img').scrollIntoView({block: 'center'})")?;
        let shot = driver.screenshot(&shots.join(shot))?;
        report.push_str(&format!(
            "{label}: figures loaded: {}; {shot}\n",
            describe(&figures)
        ));
    }

    // A figure added to the book but shown on none of the pages above would
    // go untested; name it so the tour gains a step.
    let unseen: Vec<String> = figure_files(html)?
        .into_iter()
        .filter(|f| !seen.contains(f))
        .collect();
    expect(
        unseen.is_empty(),
        format!("figures no step of the tour looked at (add a step for their chapter): {unseen:?}"),
    )?;

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
    expect(
        links.iter().any(|l| l.contains("03-backpressure")),
        format!("searching \"backpressure\" finds chapter 03; results: {links:?}"),
    )?;
    let shot = driver.screenshot(&shots.join("5-search.png"))?;
    report.push_str(&format!(
        "search \"backpressure\": {} results, chapter 03 among them; {shot}\n",
        links.len()
    ));
    Ok(report)
}

fn expect(ok: bool, what: String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("browser check failed: {what}"))
    }
}

/// A figure as the browser loaded it.
struct Figure {
    /// Its file name, e.g. `queue-depth.svg`.
    name: String,
    /// Its width in pixels as drawn; 0 means it did not render.
    width: u64,
}

/// Every `<img>` on the page has loaded and has a size.
fn check_images(driver: &Driver) -> Result<Vec<Figure>, String> {
    let images = driver.wait_for(
        "return [...document.images].map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])",
        |v| {
            v.as_array()
                .is_some_and(|all| all.iter().all(|i| i[1] == true))
        },
    )?;
    let figures: Vec<Figure> = images
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let src = i[0].as_str().unwrap_or("?");
            Figure {
                name: src.rsplit('/').next().unwrap_or(src).to_string(),
                width: i[2].as_u64().unwrap_or(0),
            }
        })
        .collect();
    expect(!figures.is_empty(), "the page has a figure".to_string())?;
    let broken: Vec<&str> = figures
        .iter()
        .filter(|f| f.width == 0)
        .map(|f| f.name.as_str())
        .collect();
    expect(
        broken.is_empty(),
        format!("figures that did not render: {broken:?}"),
    )?;
    Ok(figures)
}

/// "queue-depth.svg (760 px wide), …" for the report.
fn describe(figures: &[Figure]) -> String {
    let mut names: Vec<String> = figures
        .iter()
        .map(|f| format!("{} ({} px wide)", f.name, f.width))
        .collect();
    names.dedup();
    names.join(", ")
}

/// The figures the built book ships: every file in its `figures/` folder.
fn figure_files(html: &Path) -> Result<Vec<String>, String> {
    let dir = html.join("figures");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Serves `root` on a free localhost port until the process ends; returns its address.
fn serve(root: PathBuf) -> Result<String, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            thread::spawn(move || {
                let _ = answer(stream, &root);
            });
        }
    });
    Ok(format!("http://{address}"))
}

/// Answers one HTTP/1.1 GET with a file from `root`, then closes the connection.
fn answer(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut request = String::new();
    BufReader::new(&stream).read_line(&mut request)?;
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let relative = path.trim_start_matches('/');
    let file = if relative.is_empty() || relative.ends_with('/') {
        root.join(relative).join("index.html")
    } else {
        root.join(relative)
    };
    // `..` would leave the book's folder.
    let body = if relative.split('/').any(|part| part == "..") {
        None
    } else {
        std::fs::read(&file).ok()
    };
    let (status, body) = match body {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"not found".to_vec()),
    };
    let kind = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        _ => "application/octet-stream",
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)
}

/// A chromedriver process and one browser session in it.
struct Driver {
    process: Child,
    session: String,
}

/// WebDriver's name for an element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    fn start(profile: &Path) -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start {CHROMEDRIVER}: {e}"))?;
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while ureq::get(&format!("{base}/status")).call().is_err() {
            if started.elapsed() > Duration::from_secs(15) {
                return Err("chromedriver did not answer within 15 s".into());
            }
            thread::sleep(Duration::from_millis(100));
        }
        let _ = std::fs::remove_dir_all(profile);
        // The flags this machine needs: no sandbox (root), no GPU, and none of
        // Chromium's own network traffic, which the closed network refuses.
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,900",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let mut driver = Driver {
            process,
            session: String::new(),
        };
        let created = driver.call(
            "POST",
            &format!("{base}/session"),
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            }}}),
        );
        let created = match created {
            Ok(created) => created,
            Err(e) => {
                driver.quit();
                return Err(e);
            }
        };
        let id = created["sessionId"].as_str().unwrap_or_default();
        driver.session = format!("{base}/session/{id}");
        Ok(driver)
    }

    /// One WebDriver command; its `value`, or the driver's error message.
    fn call(&self, method: &str, url: &str, body: Value) -> Result<Value, String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let response = match method {
            "GET" => agent.get(url).call(),
            "DELETE" => agent.delete(url).call(),
            _ => agent.post(url).send_json(&body),
        };
        let mut response = response.map_err(|e| format!("WebDriver {url}: {e}"))?;
        let status = response.status();
        let answer: Value = response
            .body_mut()
            .read_json()
            .map_err(|e| format!("WebDriver {url}: {e}"))?;
        if status.is_success() {
            Ok(answer["value"].clone())
        } else {
            Err(format!(
                "WebDriver {url}: {}",
                answer["value"]["message"].as_str().unwrap_or("error")
            ))
        }
    }

    fn command(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
        self.call(method, &format!("{}{path}", self.session), body)
    }

    fn open(&self, url: &str) -> Result<(), String> {
        self.command("POST", "/url", json!({"url": url})).map(drop)
    }

    fn script(&self, script: &str) -> Result<Value, String> {
        self.command(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }

    /// Runs `script` until `done` accepts its value, for at most 10 s.
    fn wait_for(&self, script: &str, done: impl Fn(&Value) -> bool) -> Result<Value, String> {
        let started = Instant::now();
        loop {
            let value = self.script(script)?;
            if done(&value) {
                return Ok(value);
            }
            if started.elapsed() > Duration::from_secs(10) {
                return Err(format!("still waiting after 10 s; last: {value}"));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn element(&self, css: &str) -> Result<String, String> {
        let found = self.command(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        )?;
        found[ELEMENT]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("no element {css}"))
    }

    fn click(&self, css: &str) -> Result<(), String> {
        let id = self.element(css)?;
        self.command("POST", &format!("/element/{id}/click"), json!({}))
            .map(drop)
    }

    fn type_into(&self, css: &str, text: &str) -> Result<(), String> {
        let id = self.element(css)?;
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .map(drop)
    }

    /// Saves a PNG of the window to `path`; returns the path.
    fn screenshot(&self, path: &Path) -> Result<String, String> {
        let encoded = self.command("GET", "/screenshot", Value::Null)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .map_err(|e| format!("screenshot: {e}"))?;
        std::fs::write(path, png).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(format!("screenshot {}", path.display()))
    }

    fn quit(mut self) {
        if !self.session.is_empty() {
            let _ = self.command("DELETE", "", Value::Null);
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
