import pytest

from assets.resources import forget_migrations


@pytest.fixture(autouse=True)
def _fresh_migration_memo():
    """Each test's store is new: let the first sensor tick or run of the test check its schema."""
    forget_migrations()
    yield
    forget_migrations()
