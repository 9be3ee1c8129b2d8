"""The results model: the catalogue, outcomes and verdicts (and what a run left unjudged),
violations, redaction, the suite's errors and data, and what every layer shares (the contract's
messages, a transport-neutral reply, the reading of the user's TOML files and command lines).

It imports nothing of the suite above it and nothing of a transport (no `grpc`): a status is
`conformance.model.status.Status`, which each transport maps its own codes to."""
