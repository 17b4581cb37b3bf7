"""What `orders up` shows of the functions' log lines: compact by default, pretty or raw on request."""

import io
import json
from datetime import UTC, datetime

from rich.console import Console
from samlocal.logs import LogBook, LogStyle, clock, compact_line

RECEIVED = datetime(2026, 11, 28, 8, 31, 0, tzinfo=UTC)
ORDER_PLACED = json.dumps(
    {
        "level": "INFO",
        "location": "place_order:63",
        "message": "Order placed",
        "timestamp": "2026-11-28 08:30:19,182+0000",
        "service": "order-service",
        "cold_start": True,
        "function_name": "orders-local-ApiFunction",
        "function_request_id": "211438a7-ea99-469b-9392-df8044b157c4",
        "correlation_id": "7ad82578-d237-4c0c-94cd-33f37bb90254",
        "order_id": "3352f2f5-95a0-5026-b46d-e73280be9487",
        "total_minor": 999,
        "xray_trace_id": "1-6b0a911a-211438a7ea99469b9392df80",
    }
)
EMF_BLOB = json.dumps(
    {
        "_aws": {
            "Timestamp": 1795854619190,
            "CloudWatchMetrics": [
                {
                    "Namespace": "OrderService",
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": "OrderPlaced", "Unit": "Count"}, {"Name": "OrderTotal", "Unit": "None"}],
                }
            ],
        },
        "service": "order-service",
        "OrderPlaced": [1.0],
        "OrderTotal": [9.5, 10.0],
    }
)
REPORT = (
    "REPORT RequestId: 211438a7-ea99-469b-9392-df8044b157c4 Duration: 677.28 ms Memory Size: 256 MB "
    "Max Memory Used: 79 MB Worker: 22424 Init Duration: 677.28 ms (includes the invocation)"
)


def shown(text: str) -> str:
    return compact_line("ApiFunction", text, received=RECEIVED).plain


def test_a_record_shows_its_time_function_level_message_and_order_id_on_one_line() -> None:
    line = shown(ORDER_PLACED)

    assert line == (
        f"{clock(datetime(2026, 11, 28, 8, 30, 19, 182000, tzinfo=UTC))} ApiFunction INFO    Order placed"
        "  order_id=3352f2f5-95a0-5026-b46d-e73280be9487"
    )


def test_an_emf_blob_is_summarised_as_its_metrics_and_their_values() -> None:
    line = shown(EMF_BLOB)

    assert line.endswith("metrics: OrderPlaced=1, OrderTotal=19.5")
    assert line.startswith(clock(datetime.fromtimestamp(1795854619.190, UTC)))
    assert "_aws" not in line


def test_lambdas_report_line_keeps_the_request_id_prefix_duration_memory_and_cold_start() -> None:
    line = shown(REPORT)

    assert line.endswith("REPORT RequestId: 211438a7 677.28 ms, 79 MB, cold start")
    assert line.startswith(clock(RECEIVED))


def test_a_failed_invocations_report_line_says_how_it_ended() -> None:
    line = shown("REPORT RequestId: abcdef12-0000 Duration: 10000.00 ms Memory Size: 128 MB Status: timeout")

    assert line.endswith("REPORT RequestId: abcdef12 10000.00 ms, timeout")


def test_start_and_end_lines_keep_only_the_request_id_prefix() -> None:
    assert shown("START RequestId: 211438a7-ea99 Version: $LATEST").endswith("START RequestId: 211438a7")
    assert shown("END RequestId: 211438a7-ea99").endswith("END RequestId: 211438a7")


def test_a_line_that_is_not_json_is_shown_as_it_is() -> None:
    traceback_line = '  File "/var/task/handler.py", line 3, in handler'

    assert shown(traceback_line).endswith(f"ApiFunction {' ' * 7} {traceback_line}")


def test_an_exception_record_names_the_exception_after_its_message() -> None:
    record = json.dumps(
        {
            "level": "ERROR",
            "message": "A backing service failed",
            "timestamp": "2026-11-28 08:30:19,182+0000",
            "exception": "Traceback (most recent call last):\n ...",
            "exception_name": "ClientError",
        }
    )

    assert shown(record).endswith("ERROR   A backing service failed (ClientError)")


def book_showing(style: LogStyle, *, pretty: bool = True) -> tuple[LogBook, io.StringIO]:
    screen = io.StringIO()
    book = LogBook(echo=True, pretty=pretty, console=Console(file=screen, width=100, color_system=None, soft_wrap=True))
    book.style = style
    return book, screen


def test_the_log_book_keeps_the_raw_lines_while_showing_them_compact() -> None:
    book, screen = book_showing("compact")

    for line in (ORDER_PLACED, EMF_BLOB, REPORT):
        book.write("ApiFunction", line)

    assert [line.text for line in book.lines] == [ORDER_PLACED, EMF_BLOB, REPORT]
    assert len(screen.getvalue().splitlines()) == 3
    assert "xray_trace_id" not in screen.getvalue()


def test_pretty_indents_each_json_record_and_raw_shows_it_as_written() -> None:
    pretty, pretty_screen = book_showing("pretty")
    raw, raw_screen = book_showing("compact", pretty=False)  # what --raw-logs builds

    pretty.write("ApiFunction", ORDER_PLACED)
    raw.write("ApiFunction", ORDER_PLACED)

    assert 'ApiFunction |   "message": "Order placed",' in pretty_screen.getvalue().splitlines()
    assert raw_screen.getvalue() == f"ApiFunction | {ORDER_PLACED}\n"
