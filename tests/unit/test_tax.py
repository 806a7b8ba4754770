"""Tax inside a gross amount: net plus tax is the gross to the last minor unit, however the ledger rounds."""

from decimal import Decimal

import pytest

from ml_connector.tax import nets_for_gross, split_gross, tax_in_gross, tax_on_net

RATES = (Decimal("20"), Decimal("5"), Decimal("17.5"), Decimal("0"))


@pytest.mark.parametrize("rate", RATES)
def test_every_gross_to_100_splits_into_nets_whose_tax_adds_back_to_it(rate):
    for cents in range(1, 10_001):
        gross = Decimal(cents).scaleb(-2)
        nets = nets_for_gross(gross, rate, "GBP")
        assert 1 <= len(nets) <= 2
        assert sum(n + tax_on_net(n, rate, "GBP") for n in nets) == gross, (gross, nets)


def test_a_gross_no_single_net_reaches_takes_a_second_line_of_one_penny():
    # At 20%, net 0.02 has no tax (0.004) and net 0.03 gives 0.04 (tax 0.006 -> 0.01): 0.03 is skipped.
    assert nets_for_gross(Decimal("0.03"), Decimal("20"), "GBP") == (Decimal("0.02"), Decimal("0.01"))


def test_refunds_split_with_their_sign():
    net, tax = split_gross(Decimal("-12.00"), Decimal("20"), "GBP", "gross")
    assert (net, tax) == (Decimal("-10.00"), Decimal("-2.00"))
    assert nets_for_gross(Decimal("-12.00"), Decimal("20"), "GBP") == (Decimal("-10.00"),)


def test_inclusive_tax_rounds_half_up_in_the_currency_precision():
    assert tax_in_gross(Decimal("10.01"), Decimal("20"), "GBP") == Decimal("1.67")
    assert tax_in_gross(Decimal("1001"), Decimal("10"), "JPY") == Decimal("91")


@pytest.mark.parametrize("basis", ["gross", "net"])
def test_split_gross_always_adds_back_to_the_gross(basis):
    for cents in (1, 3, 99, 1234, 99999):
        gross = Decimal(cents).scaleb(-2)
        net, tax = split_gross(gross, Decimal("20"), "GBP", basis)
        assert net + tax == gross
