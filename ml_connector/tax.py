"""Tax inside a spend amount: how much of a card swipe or a receipt's total is reclaimable tax.

A record's amount is what was paid, tax included (a receipt's total). Posted with a tax code, the ledger
books the net to the expense account and the tax to its tax account; the two must add up to the gross to
the last minor unit, or the journal does not balance and the card liability does not tie to Brex.

Ledgers compute the tax one of two ways, and each ledger says which it uses for each kind of entry
(`ReferenceData.tax_basis`):
- "gross": the ledger takes the gross and a tax code and books tax = round(gross x p / (100 + p)) (an
  inclusive line; or a ledger that takes the tax amount we give it).
- "net": the ledger takes a net and adds tax = round(net x p / 100). Not every gross is net + its tax
  (at 20%, one gross in six is skipped), so such a gross is carried by two lines: a net whose gross is
  one minor unit short, and one minor unit on a line of its own (whose tax rounds to zero).
Rounding is half up per line, as ledgers round line tax.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ml_connector.money import quantum

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def tax_in_gross(gross: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The tax inside an inclusive amount, rounded half up (signed like the amount)."""
    if rate == 0:
        return ZERO.quantize(quantum(currency))
    tax = (abs(gross) * rate / (HUNDRED + rate)).quantize(quantum(currency), rounding=ROUND_HALF_UP)
    return -tax if gross < 0 else tax


def tax_on_net(net: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The tax a ledger adds to a net amount, rounded half up (signed like the amount)."""
    tax = (abs(net) * rate / HUNDRED).quantize(quantum(currency), rounding=ROUND_HALF_UP)
    return -tax if net < 0 else tax


def nets_for_gross(gross: Decimal, rate: Decimal, currency: str) -> tuple[Decimal, ...]:
    """For a ledger that adds tax to a net: the net amounts (one line each) whose nets plus their taxes are
    exactly `gross`. One net nearly always; two when no single net reaches the gross."""
    unit = quantum(currency)
    sign = -1 if gross < 0 else 1
    target = abs(gross)
    guess = (target * HUNDRED / (HUNDRED + rate)).quantize(unit, rounding=ROUND_HALF_UP)
    for net in (guess, guess - unit, guess + unit):
        if net > 0 and net + tax_on_net(net, rate, currency) == target:
            return (sign * net,)
    if target <= unit:  # one minor unit: no tax can fit inside it
        return (sign * target,)
    first = nets_for_gross(target - unit, rate, currency)
    if len(first) != 1 or tax_on_net(unit, rate, currency) != 0:
        raise ValueError(f"no split of {gross} {currency} at {rate}% into net and tax lines")
    return (sign * first[0], sign * unit)


def split_gross(gross: Decimal, rate: Decimal, currency: str, basis: str) -> tuple[Decimal, Decimal]:
    """(net, tax) of a gross amount as a ledger of that basis books it: net + tax == gross."""
    if basis == "net":
        nets = nets_for_gross(gross, rate, currency)
        tax = sum((tax_on_net(n, rate, currency) for n in nets), ZERO)
    else:
        tax = tax_in_gross(gross, rate, currency)
    return gross - tax, tax
