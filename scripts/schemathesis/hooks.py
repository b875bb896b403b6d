"""Generators for docs/openapi.yaml's own formats (`e164`, `sms-text`,
`cursor`; the schema describes each), so that what schemathesis draws as
schema-valid is what the API accepts. Loaded through the repository's
schemathesis.toml."""

import base64

import schemathesis
from hypothesis import strategies as st

# Number ranges libphonenumber holds valid (CA, US, GB, IT, FR, AU, DE),
# each completed with any subscriber digits.
VALID_NUMBER_PREFIXES = [
    ("+1416555", 4),
    ("+1212555", 4),
    ("+44207946", 4),
    ("+3906140", 5),
    ("+336", 8),
    ("+614", 8),
    ("+49151", 8),
]
E164 = st.sampled_from(VALID_NUMBER_PREFIXES).flatmap(
    lambda p: st.text("0123456789", min_size=p[1], max_size=p[1]).map(lambda rest: p[0] + rest)
)

# Anything around one letter or digit: never blank, whatever the rest is
# (controls, zero-width and bidi characters included), and at most 301
# characters, so at most 602 UTF-16 units: within 10 segments in UCS-2
# (670) as in GSM-7 (1,530).
SMS_TEXT = st.builds(
    lambda before, visible, after: before + visible + after,
    st.text(max_size=150),
    st.characters(categories=("Lu", "Ll", "Nd")),
    st.text(max_size=150),
)


def _cursor(at: int, message_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at}#{message_id}".encode()).rstrip(b"=").decode()


# Where a page ended: a time and a message id (shared/src/domain/cursor.rs).
CURSOR = st.builds(_cursor, st.integers(0, 2**40), st.from_regex(r"\A[0-9A-Za-z-]{1,64}\Z"))

schemathesis.openapi.format("e164", E164)
schemathesis.openapi.format("sms-text", SMS_TEXT)
schemathesis.openapi.format("cursor", CURSOR)
