//! One file per page; `tenant` routes a tenant's pages.

pub mod api;
pub mod extensions;
pub mod messages;
pub mod notifications;
pub mod numbers;
pub mod sign_in;
pub mod tenants;

use http::Response;

use super::session::Signed;
use crate::domain::TenantId;
use crate::service::{Error, Service};

pub async fn tenant(
    service: &Service,
    s: &Signed<'_>,
    id: &TenantId,
    post: bool,
    rest: &[&str],
) -> Result<Response<String>, Error> {
    match (post, rest) {
        (false, [] | [""]) => notifications::view(service, s, id, None).await,
        (true, ["notifications"]) => notifications::save(service, s, id).await,
        (false, ["preview"]) => notifications::preview(service, s, id).await,
        (false, ["api"]) => api::view(service, s, id, None, None).await,
        (true, ["api"]) => api::save(service, s, id).await,
        (true, ["keys"]) => api::key(service, s, id).await,
        (false, ["extensions"]) => extensions::view(service, s, id, None).await,
        (true, ["extensions"]) => extensions::save(service, s, id).await,
        (true, ["limits"]) => extensions::limits(service, s, id).await,
        (false, ["messages"]) => messages::list(service, s, id, None).await,
        (false, ["messages", message]) => messages::detail(service, s, id, message).await,
        (true, ["test-sms"]) => messages::test_sms(service, s, id).await,
        _ => Ok(super::not_found(s)),
    }
}
