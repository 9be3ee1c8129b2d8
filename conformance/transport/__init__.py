"""Talking to a target: the transport seam (`seam.Transport`) and its gRPC implementation, the
client of the contract's RPCs over it, the in-flight gate, login throttling, token sources, raw
protobuf frames and the face of the generated stubs.

A transport may import `conformance.model` and `conformance.rules`; nothing above it."""
