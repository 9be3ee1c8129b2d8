"""Live contract drift (CT-07, CT-08): the target's own description of the API, read through
gRPC server reflection, judged against the contract's descriptors."""
