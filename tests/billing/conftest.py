import pytest

from tests.billing.fake_stripe import PRICES, WEBHOOK_SECRET

__all__ = ["PRICES", "WEBHOOK_SECRET"]


@pytest.fixture(autouse=True)
def _seeded_plans(plans: None) -> None:
    """Every billing test starts from the seeded plans."""
