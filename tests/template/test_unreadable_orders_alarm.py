"""A stored order that readers skip because it no longer reads is counted and alarmed."""

from typing import Any

from order_service.handlers.unreadable_orders import METRIC
from tests.template.conftest import of_type


def test_orders_the_readers_skipped_as_unreadable_raise_an_alarm(resources: dict[str, Any]) -> None:
    (alarm,) = [
        alarm
        for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["MetricName"] == METRIC
    ]

    assert alarm["Properties"]["Namespace"] == "OrderService"
    assert alarm["Properties"]["Dimensions"] == [{"Name": "service", "Value": "order-service"}]
    assert (alarm["Properties"]["Statistic"], alarm["Properties"]["Threshold"]) == ("Sum", 0)
    assert alarm["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
