//! The example workload `--demo` adds: a blog's posts served cache-aside through the
//! service's cache, in front of a deliberately slow in-process source, so a newcomer sees
//! hit rates, latency and optimizations move.
//!
//! - `GET /api/posts?page=N&limit=M`: one page of posts (page 1..=10000, limit 1..=100).
//! - `GET /api/users/{id}/posts`: the posts of user `id` (1..=100).
//!
//! With `[demo] readAhead = true`, a page read from the source queues the next page's load
//! on the server's job queue (`read_ahead`), so the queue's figures move too.

mod posts;
mod query;
mod read_ahead;
mod routes;
mod source;

pub(crate) use routes::routes;
