//! What the tests that run the engine as a process share.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The engine binary with `args`, logging warnings to the test's stderr.
pub fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gnomon-engine"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

pub struct Process {
    pub child: Child,
    pub base: String,
}

/// Starts the engine on `data` with `config` and waits until its API answers.
pub async fn launch(data: &Path, config: &Path) -> Process {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = spawn(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--listen",
        &listen,
    ]);
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(response) = http.get(format!("{base}/v1/status")).send().await
            && response.status().is_success()
        {
            return Process { child, base };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    panic!("the engine did not come up");
}

impl Process {
    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

pub async fn get(http: &reqwest::Client, url: String) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// A faucet deposit of `amount` for `owner` (hex) into a new account: the account's id.
pub async fn dev_deposit(http: &reqwest::Client, base: &str, owner: &str, amount: u64) -> u32 {
    let reply: Value = http
        .post(format!("{base}/v1/dev/deposit"))
        .json(&serde_json::json!({"owner": owner, "amount": amount}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["account"].as_u64().expect("an account") as u32
}
