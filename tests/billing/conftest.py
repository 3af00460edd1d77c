import pytest


@pytest.fixture(autouse=True)
def _seeded_plans(plans: None) -> None:
    """Every billing test starts from the seeded plans."""
