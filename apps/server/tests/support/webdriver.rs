//! A small W3C WebDriver client over reqwest, and the chromedriver it talks to: enough to
//! open a page, run scripts, click, type, press keys and take screenshots in headless
//! Chromium, without a browser-automation dependency.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::PATIENCE;

/// The key WebDriver names an element reference by.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where Debian puts Chromium; chromedriver finds it by itself elsewhere.
const CHROMIUM: &str = "/usr/bin/chromium";

/// A running chromedriver on a free loopback port.
pub(crate) struct ChromeDriver {
    child: Child,
    base: String,
}

impl ChromeDriver {
    /// Starts `chromedriver`; fails with the packages to install when it is missing.
    pub(crate) async fn start() -> ChromeDriver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = match Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => panic!(
                "chromedriver could not be started ({error}): the browser test needs headless \
                 Chromium and its driver; install them with \
                 `apt-get install -y chromium chromium-driver` (cargo xtask ci does this as root)"
            ),
        };
        let driver = ChromeDriver { child, base: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let status = client.get(format!("{}/status", driver.base)).send().await;
            if let Ok(response) = status {
                let body: Value = response.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    break;
                }
            }
            assert!(started.elapsed() < PATIENCE, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver
    }

    /// A new headless browser session with a window of `width` x `height`.
    pub(crate) async fn session(&self, width: u32, height: u32) -> Browser {
        let mut options = json!({
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-extensions", "--no-first-run", "--hide-scrollbars",
                "--force-color-profile=srgb",
                format!("--window-size={width},{height}"),
            ],
        });
        if std::path::Path::new(CHROMIUM).exists() {
            options["binary"] = json!(CHROMIUM);
        }
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": options,
                "goog:loggingPrefs": { "browser": "SEVERE" },
            }}
        });
        let client = reqwest::Client::builder().timeout(PATIENCE * 2).build().unwrap();
        let answer: Value = client
            .post(format!("{}/session", self.base))
            .json(&capabilities)
            .send()
            .await
            .expect("ask chromedriver for a session")
            .json()
            .await
            .unwrap();
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| {
                panic!("chromedriver gave no session (is chromium installed?): {answer}")
            })
            .to_owned();
        Browser { client, session: format!("{}/session/{id}", self.base) }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
pub(crate) struct Browser {
    client: reqwest::Client,
    session: String,
}

/// An element of the page, as WebDriver refers to it.
pub(crate) struct Element(String);

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.client.request(method.clone(), format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.expect("reach chromedriver").json().await.unwrap();
        assert!(answer["value"]["error"].is_null(), "WebDriver {method} {path}: {answer}");
        answer["value"].clone()
    }

    /// Opens `url` and waits for its load event.
    pub(crate) async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub(crate) async fn run(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Waits until `script` returns something truthy, and returns it.
    pub(crate) async fn wait_for(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let value = self.run(script, json!([])).await;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(started.elapsed() < PATIENCE, "{what} did not happen within {PATIENCE:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first element matching the CSS `selector`.
    pub(crate) async fn find(&self, selector: &str) -> Element {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .await;
        let Some(id) = found[ELEMENT_KEY].as_str() else {
            panic!("no element matches {selector}: {found}");
        };
        Element(id.to_owned())
    }

    /// Clicks the element matching `selector`.
    pub(crate) async fn click(&self, selector: &str) {
        let Element(id) = self.find(selector).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// Types `text` into the element matching `selector`.
    pub(crate) async fn type_into(&self, selector: &str, text: &str) {
        let Element(id) = self.find(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Presses and releases one key (a WebDriver key code such as `\u{E014}`, ArrowRight)
    /// on whatever has the focus.
    pub(crate) async fn press(&self, key: &str) {
        let actions = json!({ "actions": [{
            "type": "key", "id": "keyboard",
            "actions": [{ "type": "keyDown", "value": key }, { "type": "keyUp", "value": key }],
        }]});
        self.call(reqwest::Method::POST, "/actions", Some(actions)).await;
    }

    /// Resizes the window.
    pub(crate) async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// A PNG of the viewport.
    pub(crate) async fn screenshot(&self) -> Vec<u8> {
        let encoded = self.call(reqwest::Method::GET, "/screenshot", None).await;
        decode_base64(encoded.as_str().expect("a base64 screenshot"))
    }

    /// The browser console's errors since the last call (chromedriver's log endpoint).
    pub(crate) async fn console_errors(&self) -> Vec<String> {
        let entries =
            self.call(reqwest::Method::POST, "/se/log", Some(json!({ "type": "browser" }))).await;
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| entry["message"].as_str().map(str::to_owned))
            .collect()
    }

    /// Ends the session (closes the browser).
    pub(crate) async fn quit(self) {
        let _ = self.client.delete(&self.session).send().await;
    }
}

/// Standard base64 (with padding), as WebDriver sends screenshots.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |byte: u8| -> u32 {
        match byte {
            b'A'..=b'Z' => u32::from(byte - b'A'),
            b'a'..=b'z' => u32::from(byte - b'a') + 26,
            b'0'..=b'9' => u32::from(byte - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {byte}"),
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for chunk in clean.chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().filter(|b| *b != b'=').collect();
        let mut bits = 0u32;
        for (i, byte) in data.iter().enumerate() {
            bits |= value(*byte) << (18 - 6 * i);
        }
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..data.len()]);
    }
    out
}
