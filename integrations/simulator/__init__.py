"""A faithful local Clever: Data/Events API, OAuth, faults, and a realistic district generator."""

from .app import SimulatorApp, make_app
from .dataset import Dataset, token_for_district
from .faults import Faults
from .server import SimulatorServer

__all__ = ["Dataset", "Faults", "SimulatorApp", "SimulatorServer", "make_app", "token_for_district"]
