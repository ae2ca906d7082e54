//! The demo's cache keys: how each answer is named in the cache, and a name read back (from
//! the saved hot keys, which come from disk) into the answer it stands for, checked against
//! the same bounds as a request's parameters.

use super::query::{LIMITS, PAGES, USER_PAGES};
use super::seed::USERS;

/// The prefix of every page key: a new post changes every page's `total`.
pub(crate) const PAGE_PREFIX: &str = "demo:posts:page:";

/// The answer a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DemoKey {
    /// `GET /api/posts?page=&limit=`.
    Page { page: u32, limit: u32 },
    /// `GET /api/users/{user}/posts?page=&limit=`.
    UserPosts { user: i64, page: u32, limit: u32 },
}

pub(crate) fn page_key(page: u32, limit: u32) -> String {
    format!("{PAGE_PREFIX}{page}:limit:{limit}")
}

/// The cached count of posts every page carries, under the pages' prefix.
pub(crate) fn total_key() -> String {
    format!("{PAGE_PREFIX}total")
}

/// The prefix of every cached page of `user`'s posts: a new post of theirs changes them all.
pub(crate) fn user_prefix(user: i64) -> String {
    format!("demo:users:{user}:posts:")
}

pub(crate) fn user_page_key(user: i64, page: u32, limit: u32) -> String {
    format!("{}page:{page}:limit:{limit}", user_prefix(user))
}

/// The answer `key` names, or `None` for anything the demo does not make (the total, a
/// foreign key, a number out of range).
pub(crate) fn parse(key: &str) -> Option<DemoKey> {
    if let Some(rest) = key.strip_prefix(PAGE_PREFIX) {
        let (page, limit) = page_and_limit(rest)?;
        return PAGES.contains(&page).then_some(DemoKey::Page { page, limit });
    }
    let rest = key.strip_prefix("demo:users:")?;
    let (user, rest) = rest.split_once(":posts:page:")?;
    let user: i64 = user.parse().ok()?;
    let (page, limit) = page_and_limit(rest)?;
    ((1..=USERS).contains(&user) && USER_PAGES.contains(&page)).then_some(DemoKey::UserPosts {
        user,
        page,
        limit,
    })
}

/// `{page}:limit:{limit}`, the limit in range.
fn page_and_limit(text: &str) -> Option<(u32, u32)> {
    let (page, limit) = text.split_once(":limit:")?;
    let (page, limit): (u32, u32) = (page.parse().ok()?, limit.parse().ok()?);
    LIMITS.contains(&limit).then_some((page, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_the_demo_makes_reads_back() {
        assert_eq!(parse(&page_key(3, 25)), Some(DemoKey::Page { page: 3, limit: 25 }));
        assert_eq!(
            parse(&user_page_key(7, 2, 10)),
            Some(DemoKey::UserPosts { user: 7, page: 2, limit: 10 })
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for key in [
            total_key().as_str(),
            "demo:posts:page:0:limit:10",
            "demo:posts:page:10001:limit:10",
            "demo:posts:page:1:limit:101",
            "demo:posts:page:1:limit:x",
            "demo:users:0:posts:page:1:limit:10",
            "demo:users:1001:posts:page:1:limit:10",
            "demo:users:1:posts:page:1001:limit:10",
            "user:1",
            "",
        ] {
            assert_eq!(parse(key), None, "{key:?}");
        }
    }
}
