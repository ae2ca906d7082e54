//! The example workload `--demo` adds: a blog's posts in a real database (an embedded
//! SQLite file by default, PostgreSQL with `--database-url`), created and seeded on first
//! start, served cache-aside through the service's cache, so a newcomer sees hit rates,
//! statement timings, pool figures and invalidation move.
//!
//! - `GET /api/posts?page=N&limit=M`: one page of posts (page 1..=10000, limit 1..=100),
//!   cached 5 minutes plus a minute per read in the last 24 h, at most an hour.
//! - `GET /api/users/{id}/posts`: the posts of user `id` (1..=1000), cached 10 minutes
//!   plus the same, at most an hour.
//! - `POST /api/users/{id}/posts` with `{ "title", "body" }`: adds a post and invalidates that
//!   user's posts and every page.
//!
//! Each handler also emits business figures through the `metrics` facade (`business`: posts
//! created, page reads by depth, post body sizes; their names in `series`), which the
//! dashboard's Business panel shows by default when the demo is on.
//!
//! The 50 most read keys are loaded before the server serves (saved in the data directory
//! by the previous run) and after each cache clear (`warming`).
//!
//! With `[demo] readAhead = true`, a page read from the database queues the next page's load
//! on the server's job queue (`read_ahead`), so the queue's figures move too.
//!
//! Only `settings` and `series` are built without the `demo` feature: the config file still
//! names `[demo]`, and the server refuses to turn on a demo it was built without.

#[cfg(feature = "demo")]
mod business;
#[cfg(feature = "demo")]
pub(crate) mod database;
#[cfg(feature = "demo")]
mod keys;
#[cfg(feature = "demo")]
mod model;
#[cfg(feature = "demo")]
mod posts;
#[cfg(feature = "demo")]
mod query;
#[cfg(feature = "demo")]
mod read_ahead;
#[cfg(feature = "demo")]
mod routes;
#[cfg(feature = "demo")]
pub(crate) mod seed;
pub(crate) mod series;
#[cfg(feature = "demo")]
pub(crate) mod service;
#[cfg(feature = "demo")]
pub(crate) mod warming;
// Without the demo, its settings are read and refused, never used.
#[cfg_attr(not(feature = "demo"), allow(dead_code))]
pub(crate) mod settings;

#[cfg(feature = "demo")]
pub(crate) use database::DemoDatabase;
#[cfg(feature = "demo")]
pub(crate) use routes::routes;
#[cfg(feature = "demo")]
pub(crate) use warming::DemoWarmer;
