"""Vendor certification packages: `certify` builds one from a report directory (package.py),
`verify` checks one (verify.py); keys.py holds the signing keys' handling both share."""
