"""The face of the contract's generated gRPC stubs (servicer base and stub classes), for code that
speaks native gRPC itself: the load workload and the reference server."""

from conformance._generated.user_api.v1 import user_pb2_grpc as pb_grpc

__all__ = ["pb_grpc"]
