//! The example workload `--demo` adds: a blog's posts in a real database (an embedded
//! SQLite file by default, PostgreSQL with `--database-url`), created and seeded on first
//! start, served cache-aside through the service's cache, so a newcomer sees hit rates,
//! statement timings, pool figures and invalidation move.
//!
//! - `GET /api/posts?page=N&limit=M`: one page of posts (page 1..=10000, limit 1..=100),
//!   cached 5 minutes.
//! - `GET /api/users/{id}/posts`: the posts of user `id` (1..=1000), cached 10 minutes.
//! - `POST /api/users/{id}/posts` with `{ "title", "body" }`: adds a post and invalidates that
//!   user's posts and every page.
//!
//! With `[demo] readAhead = true`, a page read from the database queues the next page's load
//! on the server's job queue (`read_ahead`), so the queue's figures move too.

pub(crate) mod database;
mod model;
mod outage;
mod posts;
mod query;
mod read_ahead;
mod routes;
pub(crate) mod seed;
pub(crate) mod settings;

pub(crate) use database::DemoDatabase;
pub(crate) use routes::routes;
pub(crate) use settings::DatabaseChoice;
