//! Moto harness: being written (issue 3).
pub async fn backend() -> Option<crate::Backend> {
    None
}
