"""The embedded reference server: a correct implementation of the contract, with named faults."""

from conformance.reference.faults import FAULTS, FLAVORS, Fault
from conformance.reference.server import ReferenceServer, ServerOptions

__all__ = ["FAULTS", "FLAVORS", "Fault", "ReferenceServer", "ServerOptions"]
