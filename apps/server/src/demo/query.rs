//! Reading and checking the demo's parameters: a value that is not a number is a 400, a
//! number out of range a 422, as docs/openapi.json states for every endpoint.

use std::ops::RangeInclusive;

use serde::Deserialize;

use super::model::NewPost;
use super::posts::MAX_POSTS_PER_USER;
use super::seed::USERS;
use perfkit_axum::ApiError;

/// Pages a client may ask for: bounds the number of distinct cache keys.
pub(crate) const PAGES: RangeInclusive<u32> = 1..=10_000;
/// Pages of one user's posts a client may ask for: a user has at most
/// [`MAX_POSTS_PER_USER`] posts, so a page past that is never anything but empty.
#[expect(clippy::cast_possible_truncation, reason = "a small constant")]
pub(crate) const USER_PAGES: RangeInclusive<u32> = 1..=(MAX_POSTS_PER_USER as u32);
/// Posts per page.
pub(crate) const LIMITS: RangeInclusive<u32> = 1..=100;
const DEFAULT_LIMIT: u32 = 10;

/// The paging parameters of a query string, as text, so that a value that is not a number
/// gets the demo's own message; other parameters are ignored. Two named fields rather than
/// a map: reading them is the whole of a cached page's request parsing.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageParams {
    page: Option<String>,
    limit: Option<String>,
}

/// `page` (within `pages`) and `limit` from a query string's parameters (defaults 1 and 10).
pub(crate) fn page_and_limit(
    params: &PageParams,
    pages: RangeInclusive<u32>,
) -> Result<(u32, u32), ApiError> {
    let page = number(params.page.as_deref(), "page", pages, 1)?;
    let limit = number(params.limit.as_deref(), "limit", LIMITS, DEFAULT_LIMIT)?;
    Ok((page, limit))
}

/// A user id from the path: the sample users are `1..=USERS`.
pub(crate) fn user_id(raw: &str) -> Result<i64, ApiError> {
    let id = parse("id", raw)?;
    Some(id).filter(|id| (1..=USERS).contains(id)).ok_or_else(|| {
        ApiError::NoSuchResource(format!("no user with id {id} (users are 1..={USERS})"))
    })
}

/// Longest title of a new post, in characters.
const MAX_TITLE: usize = 200;
/// Longest body of a new post, in characters.
const MAX_BODY: usize = 10_000;

/// A new post's title and body: each present and bounded.
pub(crate) fn check_new_post(post: &NewPost) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    for (name, value, max) in [("title", &post.title, MAX_TITLE), ("body", &post.body, MAX_BODY)] {
        let length = value.chars().count();
        if value.trim().is_empty() || length > max {
            problems.push(format!("{name} must have 1..={max} characters, got {length}"));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(ApiError::Invalid { what: "post", problems }) }
}

fn number(
    raw: Option<&str>,
    name: &'static str,
    range: RangeInclusive<u32>,
    default: u32,
) -> Result<u32, ApiError> {
    let Some(raw) = raw else { return Ok(default) };
    let value = parse(name, raw)?;
    u32::try_from(value).ok().filter(|v| range.contains(v)).ok_or(ApiError::OutOfRange {
        name,
        min: i64::from(*range.start()),
        max: i64::from(*range.end()),
        got: value,
    })
}

fn parse(name: &str, raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::InvalidQuery(format!("{name} must be an integer, got {raw:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> PageParams {
        let mut params = PageParams::default();
        for (name, value) in pairs {
            let field = match *name {
                "page" => &mut params.page,
                "limit" => &mut params.limit,
                _ => continue,
            };
            *field = Some((*value).to_owned());
        }
        params
    }

    /// Query parameters, and the page and limit read or the error status.
    type Case<'a> = (&'a [(&'a str, &'a str)], Result<(u32, u32), u16>);

    #[test]
    fn page_and_limit_are_checked() {
        let cases: &[Case<'_>] = &[
            (&[], Ok((1, 10))),
            (&[("page", "3"), ("limit", "25")], Ok((3, 25))),
            (&[("page", "10000"), ("limit", "100")], Ok((10_000, 100))),
            (&[("page", "0")], Err(422)),
            (&[("page", "-1")], Err(422)),
            (&[("page", "10001")], Err(422)),
            (&[("limit", "0")], Err(422)),
            (&[("limit", "101")], Err(422)),
            (&[("limit", "99999999999")], Err(422)),
            (&[("page", "two")], Err(400)),
            (&[("limit", "")], Err(400)),
            (&[("limit", "1.5")], Err(400)),
            (&[("page", "99999999999999999999999")], Err(400)),
        ];
        for (pairs, expected) in cases {
            let got = page_and_limit(&params(pairs), PAGES).map_err(|e| e.status().as_u16());
            assert_eq!(&got, expected, "{pairs:?}");
        }
    }

    #[test]
    fn a_users_pages_end_where_their_posts_must() {
        let user_page = |page: &str| {
            page_and_limit(&params(&[("page", page)]), USER_PAGES).map_err(|e| e.status().as_u16())
        };
        assert_eq!(user_page("1000"), Ok((1000, 10)));
        assert_eq!(user_page("1001"), Err(422));
    }

    #[test]
    fn user_ids_are_checked() {
        assert_eq!(user_id("7").unwrap(), 7);
        assert_eq!(user_id("abc").unwrap_err().status(), 400);
        assert_eq!(user_id("0").unwrap_err().status(), 404);
        assert_eq!(user_id("1001").unwrap_err().status(), 404);
        assert_eq!(user_id("-5").unwrap_err().status(), 404);
    }

    #[test]
    fn out_of_range_says_the_range() {
        let error = page_and_limit(&params(&[("limit", "0")]), PAGES).unwrap_err();
        assert_eq!(error.code(), "out_of_range");
        assert_eq!(error.to_string(), "limit must be in 1..=100, got 0");
    }
}
