//! A short, bounded name for why something did not go out: a metric's
//! dimension, never a text with a number or a key in it.

use super::Error;

pub fn reason(e: &Error) -> &'static str {
    match e {
        Error::OptedOut => "opted_out",
        Error::CountryNotAllowed { .. } => "country_not_allowed",
        Error::ProviderRejected(_) => "provider_refused",
        Error::ProviderUnavailable(_) => "provider_unavailable",
        Error::RateLimited { .. } => "rate_limited",
        Error::UnknownTenant(_) => "unknown_tenant",
        Error::TenantInactive => "tenant_inactive",
        Error::InvalidSender => "invalid_sender",
        Error::VoicemailDisabled => "voicemail_disabled",
        Error::UnknownExtension(_) => "unknown_extension",
        Error::ExtensionDisabled => "extension_disabled",
        Error::NoDestination => "no_destination",
        Error::Storage(_) | Error::Internal(_) => "internal",
        _ => "other",
    }
}
