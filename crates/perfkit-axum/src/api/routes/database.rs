//! The measured database statements, and the plan of one on demand.

use axum::Json;
use axum::extract::State;
use perfkit::database::PlanError;
use perfkit::metrics::StatementSummary;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::{Admin, Reader};
use crate::api::refusals::{AdminRefusals, ReadRefusals};
use crate::api::state::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, MAX_LIMIT};

/// Statements `/database/statements` returns when no limit is given.
const DEFAULT_STATEMENTS: usize = 20;

/// How the statements are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StatementOrder {
    /// Highest P95 first.
    #[default]
    P95,
    /// Most time spent in all first.
    Total,
}

/// The query of `GET /database/statements`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatementsQuery {
    /// How many statements, 1..=1000 (default 20).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// `p95` (default) or `total`.
    // Inline: a parameter's schema is not collected into the document's components, so a
    // reference to it would name nothing.
    #[param(inline)]
    sort: Option<StatementOrder>,
}

/// The answer of `GET /database/statements`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatementsView {
    /// Statements tracked one by one.
    tracked: usize,
    /// The cap on tracked statements.
    max: usize,
    /// Calls of statements beyond the cap.
    overflow_queries: u64,
    /// How `statements` is ordered.
    sort: &'static str,
    /// The statements, in that order, at most `limit`.
    statements: Vec<StatementSummary>,
}

/// The answer of `GET /database/statements/{id}/plan`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlanView {
    /// The statement's id.
    id: String,
    /// The normalized statement.
    statement: String,
    /// The database's plan, as `EXPLAIN` prints it (not `ANALYZE`: nothing was run).
    plan: String,
}

/// Per-statement timing: count, P50/P95/max, total time and rows, slowest first.
#[utoipa::path(get, path = "/database/statements", tag = "database",
    params(StatementsQuery),
    responses(
        (status = 200, description = "Measured statements, slowest P95 (or most total time) first", body = StatementsView),
        (status = 400, description = "The query does not parse (sort must be p95 or total)", body = ErrorBody),
        ReadRefusals,
        (status = 422, description = "limit is outside 1..=1000", body = ErrorBody),
    ))]
pub(crate) async fn statements(
    _: Reader,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<StatementsQuery>,
) -> Result<Json<StatementsView>, ApiError> {
    let limit = match query.limit {
        None => DEFAULT_STATEMENTS,
        Some(got) => usize::try_from(got)
            .ok()
            .filter(|_| (1..=MAX_LIMIT).contains(&got))
            .ok_or(ApiError::OutOfRange { name: "limit", min: 1, max: MAX_LIMIT, got })?,
    };
    let order = query.sort.unwrap_or_default();
    let figures = state.service.recorder().snapshot().database.statements;
    let mut statements = figures.slowest;
    if order == StatementOrder::Total {
        statements.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
    }
    statements.truncate(limit);
    Ok(Json(StatementsView {
        tracked: figures.tracked,
        max: figures.max,
        overflow_queries: figures.overflow_queries,
        sort: match order {
            StatementOrder::P95 => "p95",
            StatementOrder::Total => "total",
        },
        statements,
    }))
}

/// The database's plan of one measured read-only statement: `EXPLAIN` (without `ANALYZE`,
/// so nothing runs), on PostgreSQL, with a timeout.
#[utoipa::path(get, path = "/database/statements/{id}/plan", tag = "database",
    security(("adminToken" = [])),
    params(("id" = String, Path, description = "The statement's id, as /database/statements gives it")),
    responses(
        (status = 200, description = "The plan", body = PlanView),
        AdminRefusals,
        (status = 404, description = "No measured statement has this id", body = ErrorBody),
        (status = 409, description = "No planner: the server's database is not PostgreSQL", body = ErrorBody),
        (status = 422, description = "The statement is not read-only, or the database cannot plan it", body = ErrorBody),
        (status = 503, description = "The database did not answer within the planner's timeout", body = ErrorBody),
    ))]
pub(crate) async fn plan(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PlanView>, ApiError> {
    let statements = state.service.recorder().snapshot().database.statements.slowest;
    let statement = statements
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::NoSuchResource(format!("no measured statement has id {id:?}")))?;
    let Some(planner) = state.service.parts().planner.clone() else {
        return Err(ApiError::Status {
            status: axum::http::StatusCode::CONFLICT,
            message: "plans come from PostgreSQL, and this server has no PostgreSQL planner"
                .to_owned(),
        });
    };
    let plan = planner.explain(&statement.statement).await.map_err(|error| match error {
        PlanError::NotReadOnly(_) | PlanError::Database(_) => {
            ApiError::Invalid { what: "plan request", problems: vec![error.to_string()] }
        }
        PlanError::Timeout(_) => ApiError::Unavailable(error.to_string()),
    })?;
    Ok(Json(PlanView { id: statement.id, statement: statement.statement, plan }))
}
