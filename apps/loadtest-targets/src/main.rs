//! `perfkit-loadtest-targets <target>`: one of the apps `cargo xtask loadtest --compare`
//! loads side by side, bound to `127.0.0.1:0`; prints `listening on ADDRESS` once it
//! listens. Also `routes N`, which measures the recorder's memory and scrape time with N
//! recorded routes and prints them as one JSON line.
//!
//! The first four serve the same cheap JSON answer on `GET /api/hello`, so the ratio
//! between them is the cost of what each adds around it; `sized` and `pages` are the floors
//! for larger answers.

mod apps;
mod pages;
mod routes_cost;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: perfkit-loadtest-targets <plain | perfkit | perfkit-traced | axum-prometheus | sized=BYTES | pages=BYTES | routes N>";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["routes", count] => {
            let count: usize = count.parse().context("routes N: N is a number")?;
            println!("{}", routes_cost::measure(count)?);
            Ok(())
        }
        [target] => {
            let target: apps::Target = target.parse()?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the tokio runtime")?;
            runtime.block_on(apps::serve(target))
        }
        _ => bail!("{USAGE}"),
    }
}
