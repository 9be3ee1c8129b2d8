"""The embedded reference server, a correct implementation of the contract with named faults
and flavours; it may import `model` and `transport.stubs`, and only the plugin and the load
command start it."""

from conformance.reference.faults import FAULTS, FLAVORS, Fault
from conformance.reference.server import ReferenceServer, ServerOptions

__all__ = ["FAULTS", "FLAVORS", "Fault", "ReferenceServer", "ServerOptions"]
