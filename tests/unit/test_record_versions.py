"""Record versions over columns equal `SpendRecord.version` exactly: a posting key is forever."""

from datetime import date
from decimal import Decimal

from ml_connector.mapping.frames import records_frame
from ml_connector.models import SpendRecord
from ml_connector.sources.columns import versions


def _record(**fields) -> SpendRecord:
    values = dict(source="brex", source_id="e1", record_date=date(2026, 10, 3), merchant="UBER *TRIP",
                  amount=Decimal("12.30"), currency="USD")
    values.update(fields)
    return SpendRecord(**values)


def test_column_versions_equal_record_versions_on_awkward_values():
    records = [
        _record(),
        _record(source_id="e2", merchant='Café "Zoë" \\ München', category="RESTAURANTS", department="Sales"),
        _record(source_id="e3", amount=Decimal("-193.27"), location="New York", project="Atlas Launch"),
        _record(source_id="e4", amount=Decimal("75517"), currency="JPY", merchant="HOTEL OKURA 東京"),
        _record(source_id="e5", source="expensify", gl_code="6050", category="Meals", merchant="tab\there"),
        _record(source_id="e6", amount=Decimal("0.00"), merchant=""),
    ]
    frame = records_frame(records)
    assert list(versions(frame)) == [r.version for r in records]


def test_a_stated_tax_is_part_of_the_version_and_records_without_one_keep_theirs():
    plain = _record()
    taxed = _record(source_id="e9", tax_amount=Decimal("2.05"), tax_code="id_TAX_RATE_1")
    assert plain.version == _record().version
    assert taxed.version != _record(source_id="e9").version
    frame = records_frame([plain, taxed])
    assert list(versions(frame)) == [plain.version, taxed.version]
