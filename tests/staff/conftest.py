"""The staff tests' generated district (``setup``), shared from tests/support/staff.py."""

from tests.support.staff import setup  # noqa: F401 - the fixture
