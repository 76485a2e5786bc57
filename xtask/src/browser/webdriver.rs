//! The few WebDriver commands the browser check needs, spoken to Debian's
//! `chromedriver` on localhost: W3C WebDriver is HTTP + JSON, and `ureq`
//! (already xtask's HTTP client) does the HTTP.
//!
//! Why not a WebDriver crate: `fantoccini`, the maintained one, is async and
//! brings hyper, tokio and about a hundred more crates into xtask, which every
//! learner builds before their first `cargo xtask progress` (xtask is one
//! binary); the commit that made this choice has the measurement. The
//! commands below are the whole of what the check uses.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use base64::Engine;
use serde_json::{Value, json};

/// Where Debian's `chromium` and `chromium-driver` packages put them.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// See [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// WebDriver's name for an element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A screen the page is laid out for: width and height in CSS pixels.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    /// How reports and screenshot folders name it.
    pub name: &'static str,
    /// Width in CSS pixels.
    pub width: u32,
    /// Height in CSS pixels.
    pub height: u32,
    /// A phone (touch, mobile viewport) rather than a desktop window.
    pub mobile: bool,
}

/// A chromedriver process and one browser session in it.
pub struct Driver {
    process: Child,
    session: String,
    agent: ureq::Agent,
}

/// A free port on localhost, for a server about to start.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("no free port on localhost")?
        .port())
}

/// An HTTP agent that hands back error statuses as responses, with a deadline.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Polls `url` until it answers (any status), for at most `limit`.
pub fn wait_until_up(url: &str, limit: Duration, what: &str) -> Result<()> {
    let started = Instant::now();
    while agent().get(url).call().is_err() {
        if started.elapsed() > limit {
            bail!("{what} did not answer within {limit:?}");
        }
        thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

impl Driver {
    /// Starts chromedriver and a headless Chromium session; its user profile
    /// goes in `profile`.
    pub fn start(profile: &Path) -> Result<Self> {
        let port = free_port()?;
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("could not start {CHROMEDRIVER}"))?;
        let base = format!("http://127.0.0.1:{port}");
        let mut driver = Driver {
            process,
            session: String::new(),
            agent: agent(),
        };
        if let Err(e) = wait_until_up(
            &format!("{base}/status"),
            Duration::from_secs(15),
            "chromedriver",
        ) {
            driver.quit();
            return Err(e);
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
            "--hide-scrollbars",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let created = driver.call(
            "POST",
            &format!("{base}/session"),
            &json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            }}}),
        );
        match created {
            Ok(created) => {
                let id = created["sessionId"].as_str().unwrap_or_default();
                driver.session = format!("{base}/session/{id}");
                Ok(driver)
            }
            Err(e) => {
                driver.quit();
                Err(e)
            }
        }
    }

    /// One WebDriver command; its `value`, or the driver's error message.
    fn call(&self, method: &str, url: &str, body: &Value) -> Result<Value> {
        let response = match method {
            "GET" => self.agent.get(url).call(),
            "DELETE" => self.agent.delete(url).call(),
            _ => self.agent.post(url).send_json(body),
        };
        let mut response = response.with_context(|| format!("WebDriver {url}"))?;
        let status = response.status();
        let answer: Value = response
            .body_mut()
            .read_json()
            .with_context(|| format!("WebDriver {url}: no JSON answer"))?;
        if !status.is_success() {
            bail!(
                "WebDriver {url}: {}",
                answer["value"]["message"].as_str().unwrap_or("error")
            );
        }
        Ok(answer["value"].clone())
    }

    fn command(&self, method: &str, path: &str, body: &Value) -> Result<Value> {
        self.call(method, &format!("{}{path}", self.session), body)
    }

    /// Lays pages out for `screen`. Headless Chromium will not make a window
    /// narrower than about 485 px, so the size is set by device-metrics
    /// emulation (a DevTools command, through chromedriver's `goog/cdp`).
    pub fn emulate(&self, screen: Screen) -> Result<()> {
        self.command(
            "POST",
            "/goog/cdp/execute",
            &json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": screen.width,
                "height": screen.height,
                "deviceScaleFactor": 1,
                "mobile": screen.mobile,
            }}),
        )
        .map(drop)
    }

    /// Opens `url` and waits for it to load.
    pub fn open(&self, url: &str) -> Result<()> {
        self.command("POST", "/url", &json!({"url": url})).map(drop)
    }

    /// Runs `script` in the page; its return value.
    pub fn script(&self, script: &str) -> Result<Value> {
        self.command(
            "POST",
            "/execute/sync",
            &json!({"script": script, "args": []}),
        )
    }

    /// Runs `script` until `done` accepts its value, for at most 10 s.
    pub fn wait_for(&self, script: &str, done: impl Fn(&Value) -> bool) -> Result<Value> {
        let started = Instant::now();
        loop {
            let value = self.script(script)?;
            if done(&value) {
                return Ok(value);
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("still waiting after 10 s; last: {value}");
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn element(&self, css: &str) -> Result<String> {
        let found = self.command(
            "POST",
            "/element",
            &json!({"using": "css selector", "value": css}),
        )?;
        found[ELEMENT]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("no element {css}"))
    }

    /// Clicks the element `css` selects.
    pub fn click(&self, css: &str) -> Result<()> {
        let id = self.element(css)?;
        self.command("POST", &format!("/element/{id}/click"), &json!({}))
            .map(drop)
    }

    /// Types `text` into the element `css` selects.
    pub fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let id = self.element(css)?;
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            &json!({"text": text}),
        )
        .map(drop)
    }

    /// Saves a PNG of what the screen shows to `path`.
    pub fn screenshot(&self, path: &Path) -> Result<()> {
        let encoded = self.command("GET", "/screenshot", &Value::Null)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .context("the screenshot is not base64")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(path, png).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Ends the session and chromedriver.
    pub fn quit(mut self) {
        if !self.session.is_empty() {
            let _ = self.command("DELETE", "", &Value::Null);
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
