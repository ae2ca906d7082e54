//! The slow source: a made-up blog database that takes `latency` to answer every query.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Posts in the made-up database.
pub(crate) const POST_COUNT: u32 = 1000;
/// Users in the made-up database; post `n` belongs to user `(n - 1) % USER_COUNT + 1`.
pub(crate) const USER_COUNT: u32 = 100;

/// One post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Post {
    pub(crate) id: u32,
    pub(crate) user_id: u32,
    pub(crate) title: String,
    pub(crate) body: String,
}

/// One page of posts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostsPage {
    pub(crate) page: u32,
    pub(crate) limit: u32,
    pub(crate) total: u32,
    pub(crate) posts: Vec<Post>,
}

/// The database stand-in: answers are computed, and each query waits `latency` first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlowSource {
    latency: Duration,
}

impl SlowSource {
    pub(crate) fn new(latency: Duration) -> Self {
        SlowSource { latency }
    }

    /// Page `page` (from 1) of `limit` posts; past the last page, no posts.
    pub(crate) async fn posts_page(&self, page: u32, limit: u32) -> PostsPage {
        tokio::time::sleep(self.latency).await;
        let first = u64::from(page.saturating_sub(1)) * u64::from(limit) + 1;
        let last = (first + u64::from(limit)).min(u64::from(POST_COUNT) + 1);
        let posts = (first..last).filter_map(|id| u32::try_from(id).ok()).map(post).collect();
        PostsPage { page, limit, total: POST_COUNT, posts }
    }

    /// Every post of user `user`, or `None` when there is no such user.
    pub(crate) async fn user_posts(&self, user: u32) -> Option<Vec<Post>> {
        tokio::time::sleep(self.latency).await;
        (1..=USER_COUNT)
            .contains(&user)
            .then(|| (user..=POST_COUNT).step_by(USER_COUNT as usize).map(post).collect())
    }
}

fn post(id: u32) -> Post {
    Post {
        id,
        user_id: (id - 1) % USER_COUNT + 1,
        title: format!("Post {id}"),
        body: format!("The body of post {id}, long enough to be worth caching. ").repeat(4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn every_query_waits_the_latency() {
        let source = SlowSource::new(Duration::from_millis(50));
        let start = tokio::time::Instant::now();
        source.posts_page(1, 10).await;
        assert_eq!(start.elapsed(), Duration::from_millis(50));
        source.user_posts(1).await;
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn pages_cover_the_posts_in_order_and_end_empty() {
        let source = SlowSource::new(Duration::ZERO);
        let second = source.posts_page(2, 10).await;
        let ids: Vec<u32> = second.posts.iter().map(|p| p.id).collect();
        assert_eq!(ids, (11..=20).collect::<Vec<_>>());
        assert_eq!(second.total, POST_COUNT);
        assert_eq!(source.posts_page(100, 10).await.posts.last().unwrap().id, POST_COUNT);
        assert!(source.posts_page(101, 10).await.posts.is_empty());
        assert!(source.posts_page(10_000, 100).await.posts.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_users_posts_are_theirs_and_unknown_users_have_none() {
        let source = SlowSource::new(Duration::ZERO);
        let posts = source.user_posts(7).await.unwrap();
        assert_eq!(posts.len(), (POST_COUNT / USER_COUNT) as usize);
        assert!(posts.iter().all(|p| p.user_id == 7));
        assert_eq!(source.user_posts(0).await, None);
        assert_eq!(source.user_posts(USER_COUNT + 1).await, None);
    }
}
