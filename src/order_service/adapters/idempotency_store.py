"""Powertools' DynamoDB idempotency records, with the save after the side effect retried for
as long as the invocation has time.

Once the e-mail went out, its COMPLETED record is all that keeps a redelivery from sending it
again: a save that failed leaves the record IN_PROGRESS, which expires with the invocation,
and the next delivery of the message sends the e-mail a second time. One save is one AWS call
of a few attempts (settings.aws_max_attempts); a throttled or failing table can use them up.
So a failed save is tried again, round after round, until it succeeds or the invocation's
deadline guard (time_budget) refuses the next attempt. Outside an invocation it is tried once,
as Powertools does.
"""

import time
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from botocore.exceptions import BotoCoreError, ClientError

from order_service.adapters import time_budget

# Between two rounds: an error botocore does not retry (it answered at once) is not hammered.
_PAUSE_SECONDS = 0.2


class SaveRetryingPersistenceLayer(DynamoDBPersistenceLayer):
    def save_success(self, data: dict[str, Any], result: dict[str, Any]) -> None:
        while True:
            try:
                super().save_success(data, result)
                return
            except time_budget.DeadlineExceededError:
                raise
            except (ClientError, BotoCoreError):
                left = time_budget.seconds_left()
                if left is None or left <= _PAUSE_SECONDS:
                    raise
            time.sleep(_PAUSE_SECONDS)
