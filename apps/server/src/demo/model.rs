//! What the demo serves: posts, and pages of them, in the JSON shape the guide's API uses.

use serde::{Deserialize, Serialize};

/// One post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Post {
    pub(crate) id: i64,
    pub(crate) user_id: i64,
    pub(crate) title: String,
    pub(crate) body: String,
}

impl Post {
    /// A post from a row `(id, user_id, title, body)`.
    pub(crate) fn from_row((id, user_id, title, body): (i64, i64, String, String)) -> Self {
        Post { id, user_id, title, body }
    }
}

/// One page of posts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostsPage {
    pub(crate) page: u32,
    pub(crate) limit: u32,
    pub(crate) total: i64,
    pub(crate) posts: Vec<Post>,
}

/// The body of `POST /api/users/{id}/posts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewPost {
    pub(crate) title: String,
    pub(crate) body: String,
}
