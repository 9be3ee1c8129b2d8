"""Judging an answer, with no I/O: the field rules, JSON Schemas, tokens shaped like the target's,
weak JWT secrets, token analysis, RT-21's expiry clock and the hypothesis strategies.

Rules may import `conformance.model` (the contract's generated messages among it) and
`conformance.formats`, never `grpc` or `conformance.transport`."""
