import pytest

from order_service.settings import (
    NotificationSettings,
    ProcessOrderSettings,
    SettingsError,
    StalledOrderSweepSettings,
    load_settings,
)


def test_missing_variables_are_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERS_TABLE_NAME", raising=False)
    monkeypatch.delenv("MAX_ORDER_TOTALS", raising=False)
    load_settings.cache_clear()

    with pytest.raises(SettingsError, match="missing environment variable MAX_ORDER_TOTALS"):
        load_settings(ProcessOrderSettings)


def test_the_store_names_the_variable_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERS_TABLE_NAME", raising=False)
    monkeypatch.setenv("MAX_ORDER_TOTALS", '{"EUR": "10.00"}')
    load_settings.cache_clear()

    with pytest.raises(SettingsError, match="ORDERS_TABLE_NAME is required for ORDER_STORE=dynamodb"):
        load_settings(ProcessOrderSettings)
    load_settings.cache_clear()


def test_an_invalid_variable_is_named_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_TABLE_NAME", "orders")
    monkeypatch.setenv("MAX_ORDER_TOTALS", '{"XYZ": "10"}')
    load_settings.cache_clear()

    with pytest.raises(SettingsError, match="invalid environment variable MAX_ORDER_TOTALS"):
        load_settings(ProcessOrderSettings)


@pytest.mark.parametrize("limits", ['{"EUR": "10000.001"}', '{"JPY": "1500.5"}', '{"EUR": "-1"}', '{"EUR": "1e30"}'])
def test_a_maximum_total_that_is_not_an_amount_of_its_currency_stops_init_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, limits: str
) -> None:
    monkeypatch.setenv("ORDERS_TABLE_NAME", "orders")
    monkeypatch.setenv("MAX_ORDER_TOTALS", limits)
    load_settings.cache_clear()

    with pytest.raises(
        SettingsError, match=r"invalid environment variable MAX_ORDER_TOTALS: .* (not an amount|outside)"
    ):
        load_settings(ProcessOrderSettings)
    load_settings.cache_clear()


def test_a_sender_that_is_not_an_address_stops_init_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDER_EMAIL", "orders at example.com")
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", "idempotency")
    load_settings.cache_clear()

    with pytest.raises(SettingsError, match="invalid environment variable SENDER_EMAIL"):
        load_settings(NotificationSettings)
    load_settings.cache_clear()


def test_settings_are_read_once_per_container(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_TABLE_NAME", "orders")
    monkeypatch.setenv("MAX_ORDER_TOTALS", '{"EUR": "10.00"}')
    load_settings.cache_clear()

    first = load_settings(ProcessOrderSettings)
    monkeypatch.setenv("ORDERS_TABLE_NAME", "changed")

    assert load_settings(ProcessOrderSettings) is first
    assert first.orders_table_name == "orders"
    load_settings.cache_clear()


def test_a_stalled_order_age_shorter_than_the_sweep_period_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_TABLE_NAME", "orders")
    monkeypatch.setenv("EVENT_BUS_NAME", "bus")
    monkeypatch.setenv("STALLED_ORDER_AGE_MINUTES", "1")
    load_settings.cache_clear()

    with pytest.raises(SettingsError, match="invalid environment variable STALLED_ORDER_AGE_MINUTES"):
        load_settings(StalledOrderSweepSettings)
    load_settings.cache_clear()
