"""Live contract drift (CT-07, CT-08): the target's reflection, judged against the contract with
buf; it may import `model` and `grpc` (reflection is native gRPC only)."""
