import pytest

from order_service.settings import ProcessOrderSettings, SettingsError, load_settings


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


def test_settings_are_read_once_per_container(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_TABLE_NAME", "orders")
    monkeypatch.setenv("MAX_ORDER_TOTALS", '{"EUR": "10.00"}')
    load_settings.cache_clear()

    first = load_settings(ProcessOrderSettings)
    monkeypatch.setenv("ORDERS_TABLE_NAME", "changed")

    assert load_settings(ProcessOrderSettings) is first
    assert first.orders_table_name == "orders"
    load_settings.cache_clear()
