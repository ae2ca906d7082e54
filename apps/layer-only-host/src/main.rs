//! A host app with perfkit's request-metrics layer and nothing else of perfkit: its own
//! routes, its own 404, the layer outermost. `cargo xtask ci` counts the crates it builds
//! (`cargo tree -e normal`), so taking the layer never again means taking the server face.
//!
//! ```text
//! cargo run -p perfkit-layer-only-host    # then: curl localhost:3001/posts/1
//! ```

use std::sync::Arc;

use perfkit_metrics::Recorder;

mod app;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let recorder = Arc::new(Recorder::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app::app(recorder)).await
}
