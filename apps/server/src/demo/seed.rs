//! The demo's first-start data: a blog with a realistic number of users and posts, made up
//! deterministically (the same rows on every machine), written in batches in one transaction.

/// Users created on first start.
pub(crate) const USERS: i64 = 1_000;
/// Posts created on first start: 25 per user on average, unevenly spread, as real authors are.
pub(crate) const POSTS: i64 = 25_000;
/// Rows per `INSERT` while seeding: well under SQLite's and PostgreSQL's statement limits.
const BATCH: i64 = 500;

const WORDS: [&str; 24] = [
    "cache",
    "latency",
    "query",
    "index",
    "tokio",
    "axum",
    "percentile",
    "pool",
    "budget",
    "trace",
    "span",
    "request",
    "thread",
    "memory",
    "burst",
    "queue",
    "replica",
    "shard",
    "alert",
    "dashboard",
    "scrape",
    "window",
    "sample",
    "plan",
];

/// The author of seeded post `id`: a skewed but fixed spread (a few prolific authors, many
/// occasional ones), every user with at least one post.
pub(crate) fn author_of(id: i64) -> i64 {
    if id <= USERS {
        return id;
    }
    // A multiplicative hash, squared into [0, 1): small user ids get more posts.
    let hashed = (id.wrapping_mul(2_654_435_761) & 0xFFFF) as f64 / 65_536.0;
    1 + ((hashed * hashed) * USERS as f64) as i64
}

fn title_of(id: i64) -> String {
    let word = |n: i64| WORDS[(n.rem_euclid(WORDS.len() as i64)) as usize];
    format!("On {} and {} ({id})", word(id * 7), word(id * 13 + 5))
}

fn body_of(id: i64) -> String {
    let word = |n: i64| WORDS[(n.rem_euclid(WORDS.len() as i64)) as usize];
    let sentence = format!(
        "Notes on {} under load: the {} moved when the {} did. ",
        word(id),
        word(id * 3 + 1),
        word(id * 5 + 2)
    );
    sentence.repeat(3)
}

/// The `INSERT` statements that seed the database: users, then posts, in batches. Every
/// value is generated here (numbers and words without quotes), never taken from input.
/// `ON CONFLICT DO NOTHING` makes a second seeding (two servers starting on one empty
/// PostgreSQL) harmless.
pub(crate) fn statements() -> Vec<String> {
    let mut statements = Vec::new();
    for first in (1..=USERS).step_by(BATCH as usize) {
        let rows: Vec<String> = (first..(first + BATCH).min(USERS + 1))
            .map(|id| format!("({id}, 'user{id}', 'user{id}@example.com')"))
            .collect();
        statements.push(format!(
            "INSERT INTO users (id, name, email) VALUES {} ON CONFLICT (id) DO NOTHING",
            rows.join(", ")
        ));
    }
    for first in (1..=POSTS).step_by(BATCH as usize) {
        let rows: Vec<String> = (first..(first + BATCH).min(POSTS + 1))
            .map(|id| {
                format!(
                    "({id}, {}, '{}', '{}', {})",
                    author_of(id),
                    title_of(id),
                    body_of(id),
                    1_700_000_000 + id * 60
                )
            })
            .collect();
        statements.push(format!(
            "INSERT INTO posts (id, user_id, title, body, created_at) VALUES {} \
             ON CONFLICT (id) DO NOTHING",
            rows.join(", ")
        ));
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_user_writes_and_the_spread_is_skewed() {
        let mut counts = vec![0_u32; USERS as usize + 1];
        for id in 1..=POSTS {
            let author = author_of(id);
            assert!((1..=USERS).contains(&author), "post {id} by {author}");
            counts[author as usize] += 1;
        }
        assert!(counts[1..].iter().all(|c| *c >= 1));
        let (low, high) = (counts[1..=100].iter().sum::<u32>(), counts[901..].iter().sum::<u32>());
        assert!(low > 3 * high, "the first hundred users wrote {low}, the last hundred {high}");
    }

    #[test]
    fn the_statements_cover_every_row_without_quotes_in_values() {
        let statements = statements();
        assert_eq!(statements.len(), (USERS / BATCH + POSTS / BATCH) as usize);
        assert!(!title_of(7).contains('\'') && !body_of(7).contains('\''));
    }
}
