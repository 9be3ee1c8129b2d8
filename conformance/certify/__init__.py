"""Vendor certification packages (`certify`, `verify`) from a report directory; it may import
`model` only.

package.py builds one, verify.py checks one; keys.py holds the signing keys' handling both
share."""
